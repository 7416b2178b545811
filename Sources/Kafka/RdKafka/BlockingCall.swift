import Foundation

/// Runs a blocking librdkafka call on a thread of its own, so that no Swift task's
/// thread waits on the network. Used for rare calls (metadata, committed offsets).
enum BlockingCall {
    static func run<T: Sendable>(_ body: @escaping @Sendable () throws(KafkaError) -> T) async throws(KafkaError) -> T {
        let result: Result<T, KafkaError> = await withCheckedContinuation { waiter in
            let thread = Thread {
                do throws(KafkaError) {
                    waiter.resume(returning: .success(try body()))
                } catch {
                    waiter.resume(returning: .failure(error))
                }
            }
            thread.name = "kafka-blocking-call"
            thread.start()
        }
        return try result.get()
    }
}
