import Kafka
@main struct KafkaBenchmark { static func main() async { print(KafkaLibrary.version) } }
