import Foundation

/// A value behind a lock, as a reference: closures that run on other threads (a scheduler's callbacks,
/// a loader queue, signal handlers) can capture it, which `Mutex` itself, being non-copyable, cannot be.
/// Keep the work inside `withLock` short; never call it from the audio thread.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
