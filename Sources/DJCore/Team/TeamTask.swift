import Foundation

/// How often a task is tried and how long it waits between tries.
///
/// The wait before attempt n+1 after a failed attempt n is
/// `min(maxDelay, baseDelay * 2^(n-1)) * (1 + jitter * U(-1, 1))` seconds.
public struct RetryPolicy: Codable, Sendable, Equatable {
    /// Attempts in all, the first included (1: never retried).
    public var maxAttempts: Int
    /// Seconds before the second attempt.
    public var baseDelay: Double
    /// Longest wait between two attempts, in seconds (before jitter).
    public var maxDelay: Double
    /// Relative spread of the wait, 0...1 (0.2: ±20 %).
    public var jitter: Double

    public init(maxAttempts: Int = 3, baseDelay: Double = 1, maxDelay: Double = 60, jitter: Double = 0.2) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// Throws `invalidArgument` naming the field that is out of range.
    public func validate() throws {
        guard (1...1000).contains(maxAttempts) else {
            throw DJCoreError.invalidArgument("maxAttempts: \(maxAttempts) is out of range (1...1000)")
        }
        guard baseDelay.isFinite, baseDelay >= 0 else {
            throw DJCoreError.invalidArgument("backoffBase: \(baseDelay) s must be 0 or more")
        }
        guard maxDelay.isFinite, maxDelay >= 0 else {
            throw DJCoreError.invalidArgument("backoffMax: \(maxDelay) s must be 0 or more")
        }
        guard jitter.isFinite, (0...1).contains(jitter) else {
            throw DJCoreError.invalidArgument("jitter: \(jitter) is out of range (0...1)")
        }
    }

    /// Seconds to wait after failed attempt `attempt` (1-based); `unit` is a random number in -1...1.
    public func delay(afterAttempt attempt: Int, unit: Double) -> Double {
        let exponent = Double(max(0, min(attempt - 1, 62)))
        let raw = min(maxDelay, baseDelay * pow(2, exponent))
        return max(0, raw * (1 + jitter * max(-1, min(1, unit))))
    }
}

/// A task as stored: what to do, where it is, and (from `TeamService.task(id:)`) its history.
public struct TeamTask: Codable, Sendable, Equatable, Identifiable {
    /// Assigned by the store, increasing with submission order.
    public var id: Int
    public var kind: TaskKind
    public var state: TaskState
    /// Higher runs first; ties go to the older task.
    public var priority: Int
    /// The handler's input as submitted (placeholders unresolved).
    public var payload: JSONValue
    /// Tasks that must succeed before this one runs.
    public var dependsOn: [Int]
    /// The handler's result once succeeded.
    public var result: JSONValue?
    /// Why the last attempt failed, or why the task failed ("dependency 4 failed").
    public var error: String?
    /// Attempts started and counted so far (an attempt interrupted by a restart is not counted).
    public var attempts: Int
    public var retry: RetryPolicy
    /// Seconds an attempt may run; nil: no limit.
    public var timeout: Double?
    /// In `retryWait`: the earliest time of the next attempt.
    public var notBefore: Date?
    /// The worker running it ("host:pid:nonce/w2"), while running.
    public var worker: String?
    /// Cancellation was asked for while running; it ends `cancelled` when its handler returns.
    public var cancelRequested: Bool
    /// The handler's last reported progress, 0...1, and message.
    public var progress: Double?
    public var progressMessage: String?
    /// The workflow it belongs to and its step name there, if any.
    public var workflowID: Int?
    public var stepName: String?
    public var submittedAt: Date
    /// Start of the latest attempt.
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Every state change, oldest first (empty in lists; filled by `task(id:)`).
    public var history: [TaskEventRecord]

    public init(id: Int, kind: TaskKind, state: TaskState, priority: Int, payload: JSONValue, dependsOn: [Int],
                result: JSONValue?, error: String?, attempts: Int, retry: RetryPolicy, timeout: Double?,
                notBefore: Date?, worker: String?, cancelRequested: Bool, progress: Double?, progressMessage: String?,
                workflowID: Int?, stepName: String?, submittedAt: Date, startedAt: Date?, finishedAt: Date?,
                history: [TaskEventRecord] = []) {
        self.id = id; self.kind = kind; self.state = state; self.priority = priority; self.payload = payload
        self.dependsOn = dependsOn; self.result = result; self.error = error; self.attempts = attempts
        self.retry = retry; self.timeout = timeout; self.notBefore = notBefore; self.worker = worker
        self.cancelRequested = cancelRequested; self.progress = progress; self.progressMessage = progressMessage
        self.workflowID = workflowID; self.stepName = stepName; self.submittedAt = submittedAt
        self.startedAt = startedAt; self.finishedAt = finishedAt; self.history = history
    }
}

/// What happened to a task. JSON: the raw value.
public enum TaskEventType: String, Codable, Sendable, CaseIterable {
    case submitted
    /// Dependencies all succeeded: pending -> queued.
    case queued
    case started
    case progress
    case failed
    case retryScheduled
    case succeeded
    case cancelRequested
    case cancelled
    case timedOut
    case deadLettered
    /// Put back in the queue: after a restart, or parked at shutdown.
    case requeued
    case parked
    /// Retried by hand.
    case retried
}

/// One entry of a task's history (and of the live event stream).
///
/// `progress` events go to subscribers only and are not kept in the history; every other type is stored.
public struct TaskEventRecord: Codable, Sendable, Equatable, Identifiable {
    /// Increasing over the whole store (0 for `progress` events, which are not stored).
    public var id: Int
    public var taskID: Int
    public var kind: TaskKind
    public var at: Date
    public var type: TaskEventType
    /// The task's state after the event.
    public var state: TaskState
    public var attempt: Int?
    public var worker: String?
    /// For people: "started attempt 2 on worker w1", "retry scheduled in 0.10 s".
    public var message: String
    /// For `retryScheduled`: the back-off in seconds.
    public var delaySeconds: Double?
    /// For `progress`: 0...1.
    public var progress: Double?

    public init(id: Int, taskID: Int, kind: TaskKind, at: Date, type: TaskEventType, state: TaskState,
                attempt: Int? = nil, worker: String? = nil, message: String, delaySeconds: Double? = nil,
                progress: Double? = nil) {
        self.id = id; self.taskID = taskID; self.kind = kind; self.at = at; self.type = type; self.state = state
        self.attempt = attempt; self.worker = worker; self.message = message; self.delaySeconds = delaySeconds
        self.progress = progress
    }
}
