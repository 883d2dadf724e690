import Foundation
import Logging
import Synchronization

/// What a handler gets: the task, a cancellation flag, a progress reporter and a logger.
///
/// Thread: the handler runs on one of the service's worker threads (a dedicated OS thread, not the
/// Swift concurrency pool), so it may block and compute; it should call `checkCancelled()` between
/// chunks of work so that a cancellation or a time-out stops it early.
public final class TaskContext: Sendable {
    public let taskID: Int
    public let kind: TaskKind
    /// The payload, with `$steps.<name>.result...` placeholders replaced.
    public let payload: JSONValue
    /// 1 for the first attempt.
    public let attempt: Int
    public let workerID: String
    public let logger: Logger

    private struct Flags {
        var reason: String?
        var lastProgressAt: ContinuousClock.Instant?
    }
    private let flags = Mutex(Flags())
    private let onProgress: @Sendable (Double, String?) -> Void
    private let progressInterval: Duration

    init(taskID: Int, kind: TaskKind, payload: JSONValue, attempt: Int, workerID: String, logger: Logger,
         progressInterval: Duration, onProgress: @escaping @Sendable (Double, String?) -> Void) {
        self.taskID = taskID; self.kind = kind; self.payload = payload; self.attempt = attempt
        self.workerID = workerID; self.logger = logger; self.progressInterval = progressInterval; self.onProgress = onProgress
    }

    /// True once the task was cancelled, timed out or the service is shutting down.
    public var isCancelled: Bool { flags.withLock { $0.reason != nil } }

    /// Throws `DJCoreError.cancelled` (saying why) if `isCancelled`.
    public func checkCancelled() throws {
        if let reason = flags.withLock({ $0.reason }) { throw DJCoreError.cancelled("task \(taskID) \(reason)") }
    }

    /// Reports progress, 0...1, with an optional message. Cheap to call often: at most one report per
    /// `TeamConfiguration.progressInterval` is stored and published (the first and a complete one always are).
    public func progress(_ fraction: Double, _ message: String? = nil) {
        let f = fraction.isFinite ? min(1, max(0, fraction)) : 0
        let now = ContinuousClock.now
        let send = flags.withLock { s -> Bool in
            if let last = s.lastProgressAt, f < 1, now - last < progressInterval { return false }
            s.lastProgressAt = now
            return true
        }
        if send { onProgress(f, message) }
    }

    /// Marks the context cancelled; the first reason wins.
    func cancel(_ reason: String) {
        flags.withLock { if $0.reason == nil { $0.reason = reason } }
    }
}
