import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide memory settings for a long-running service.
public enum MemoryTuning {
    /// Limits glibc's malloc to two arenas unless `MALLOC_ARENA_MAX` says otherwise.
    /// librdkafka, SwiftNIO and Swift's executor each run threads that allocate; with
    /// glibc's default of up to eight arenas per core, freed memory stays spread over
    /// arenas and the resident set grows far past what is in use (measured with
    /// scripts/bench-ingest.sh: peak RSS 194 MiB by default, 138 MiB with two arenas,
    /// and no slower). Call it first thing, before threads start.
    public static func limitMallocArenas() {
        #if canImport(Glibc)
            guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
            // `mallopt` is declared in <malloc.h>, which Swift's Glibc module does not
            // import; look it up instead. M_ARENA_MAX is -8 in glibc.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            _ = unsafeBitCast(symbol, to: Mallopt.self)(-8, 2)
        #endif
    }
}
