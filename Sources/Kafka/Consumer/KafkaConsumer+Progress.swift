extension KafkaConsumer {
    /// The partitions assigned to this member, read off the caller's thread: librdkafka
    /// answers from its main thread, which can be busy (a rebalance, say).
    public func currentAssignment() async throws(KafkaError) -> [KafkaTopicPartition] {
        try await BlockingCall.run { () throws(KafkaError) -> [KafkaTopicPartition] in try self.assignment() }
    }

    /// Each partition's end (the offset the next message written will get) and start,
    /// asked of the partition leaders: unlike the watermarks librdkafka remembers from
    /// its fetches, these keep moving while the partition is paused or the consumer has
    /// stopped fetching. Partitions whose leader did not answer within `timeout` are left
    /// out.
    public func partitionBounds(
        of partitions: [KafkaTopicPartition], timeout: Duration = .seconds(2)
    ) async throws(KafkaError) -> [KafkaTopicPartition: (start: Int64, end: Int64)] {
        guard !partitions.isEmpty else { return [:] }
        let rdKafka = core.rdKafka!
        return try await BlockingCall.run {
            () throws(KafkaError) -> [KafkaTopicPartition: (start: Int64, end: Int64)] in
            let deadline = ContinuousClock.now + timeout
            var bounds: [KafkaTopicPartition: (start: Int64, end: Int64)] = [:]
            for partition in partitions {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { break }
                if let found = try rdKafka.bounds(of: partition, timeout: left) { bounds[partition] = found }
            }
            return bounds
        }
    }
}
