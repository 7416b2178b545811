import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Process-wide memory settings for a long-running service.
public enum MemoryTuning {
    /// Limits glibc's malloc to two arenas unless `MALLOC_ARENA_MAX` says otherwise, and
    /// keeps allocations of 128 KiB and more in their own mappings unless
    /// `MALLOC_MMAP_THRESHOLD_` says otherwise.
    ///
    /// librdkafka, SwiftNIO and Swift's executor each run threads that allocate; with
    /// glibc's default of up to eight arenas per core, freed memory stays spread over
    /// arenas and the resident set grows far past what is in use (measured with
    /// scripts/bench-ingest.sh: peak RSS 194 MiB by default, 138 MiB with two arenas,
    /// and no slower). The batch buffers of ingest (message arrays, bind buffers of
    /// thousands of rows) are large and short-lived: by default glibc raises its mapping
    /// threshold each time one is freed, after which they are carved from the heap and
    /// leave it fragmented (176 MiB peak with two store lanes; 132 MiB with the
    /// threshold fixed, at the same rate). Call it first thing, before threads start.
    public static func tuneMalloc() {
        #if canImport(Glibc)
            // `mallopt` is declared in <malloc.h>, which Swift's Glibc module does not
            // import; look it up instead.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
            let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
            let environment = ProcessInfo.processInfo.environment
            let arenaMax: Int32 = -8
            let mmapThreshold: Int32 = -3
            if environment["MALLOC_ARENA_MAX"] == nil { _ = mallopt(arenaMax, 2) }
            if environment["MALLOC_MMAP_THRESHOLD_"] == nil { _ = mallopt(mmapThreshold, 128 * 1024) }
        #endif
    }
}
