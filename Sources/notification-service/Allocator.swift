import CJemalloc

/// The allocator the process runs on, for the start-up log: jemalloc's version, its arena
/// count and how long it keeps freed pages, as jemalloc itself reports them (so a build or
/// an environment that ends up on another allocator, or with other settings, shows it).
enum Allocator {
    static var description: String {
        #if os(Linux)
            var version: UnsafePointer<CChar>?
            var size = MemoryLayout<UnsafePointer<CChar>?>.size
            guard mallctl("version", &version, &size, nil, 0) == 0, let version else { return "not jemalloc" }
            var arenas: UInt32 = 0
            size = MemoryLayout<UInt32>.size
            guard mallctl("opt.narenas", &arenas, &size, nil, 0) == 0 else {
                return "jemalloc \(String(cString: version)), arenas unknown"
            }
            let count = arenas == 1 ? "1 arena" : "\(arenas) arenas"
            var decay = 0
            size = MemoryLayout<Int>.size
            guard mallctl("opt.dirty_decay_ms", &decay, &size, nil, 0) == 0 else {
                return "jemalloc \(String(cString: version)), \(count)"
            }
            return "jemalloc \(String(cString: version)), \(count), freed pages kept \(decay) ms"
        #else
            return "the system's"
        #endif
    }
}
