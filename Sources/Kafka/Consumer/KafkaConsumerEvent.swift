/// What happens to a consumer besides messages: partitions assigned, revoked or lost,
/// and errors that did not stop it.
public enum KafkaConsumerEvent: Sendable, Hashable {
    /// The group gave these partitions to this member.
    case assigned([KafkaTopicPartition])
    /// These partitions were taken away in an orderly rebalance. Offsets marked as
    /// processed were committed before they were given up.
    case revoked([KafkaTopicPartition])
    /// These partitions were lost (the member was thrown out of the group, for example
    /// after missing its session timeout). Nothing was committed for them: another
    /// member may already own them.
    case lost([KafkaTopicPartition])
    /// An error that did not stop the consumer, for example a broker out of reach.
    case error(KafkaError)
}
