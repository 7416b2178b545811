import CJemalloc

/// The allocator the process runs on, for the start-up log: jemalloc's version, its arena
/// count and how long it keeps freed pages, as jemalloc itself reports them (so a build or
/// an environment that ends up on another allocator, or with other settings, shows it).
enum Allocator {
    static var description: String {
        #if os(Linux)
            guard let version = option("version", as: UnsafePointer<CChar>.self) else { return "not jemalloc" }
            let jemalloc = "jemalloc \(String(cString: version))"
            guard let arenas = option("opt.narenas", as: UInt32.self) else { return "\(jemalloc), arenas unknown" }
            let count = arenas == 1 ? "1 arena" : "\(arenas) arenas"
            guard let decay = option("opt.dirty_decay_ms", as: Int.self) else { return "\(jemalloc), \(count)" }
            return "\(jemalloc), \(count), freed pages kept \(decay) ms"
        #else
            return "the system's"
        #endif
    }

    #if os(Linux)
        /// jemalloc's value for `name` (`mallctl`), read as a `Value`; nil if jemalloc does
        /// not answer it or answers with a value of another size.
        private static func option<Value>(_ name: String, as _: Value.Type) -> Value? {
            let value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
            defer { value.deallocate() }
            var size = MemoryLayout<Value>.size
            guard mallctl(name, value, &size, nil, 0) == 0, size == MemoryLayout<Value>.size else { return nil }
            return value.pointee
        }
    #endif
}
