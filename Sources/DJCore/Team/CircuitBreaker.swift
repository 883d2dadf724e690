import Foundation

/// When a kind of task's breaker opens and for how long.
public struct BreakerSettings: Codable, Sendable, Equatable {
    /// Consecutive failed attempts of one kind that open its breaker.
    public var failureThreshold: Int
    /// Seconds an open breaker waits before letting one trial task through (half-open).
    public var coolDown: Double

    public init(failureThreshold: Int = 5, coolDown: Double = 30) {
        self.failureThreshold = failureThreshold
        self.coolDown = coolDown
    }

    public func validate() throws {
        guard (1...10_000).contains(failureThreshold) else {
            throw DJCoreError.invalidArgument("breaker.failureThreshold: \(failureThreshold) is out of range (1...10000)")
        }
        guard coolDown.isFinite, coolDown >= 0 else {
            throw DJCoreError.invalidArgument("breaker.coolDown: \(coolDown) s must be 0 or more")
        }
    }
}

/// closed: tasks of the kind are dispatched; open: none are; halfOpen: one trial task is.
public enum BreakerState: String, Codable, Sendable {
    case closed, open, halfOpen
}

/// A kind's breaker as reported.
public struct BreakerStatus: Codable, Sendable, Equatable {
    public var kind: TaskKind
    public var state: BreakerState
    public var consecutiveFailures: Int
    public var openedAt: Date?
    /// When an open breaker lets a trial through.
    public var retryAt: Date?
    /// The trial task of a half-open breaker, once dispatched.
    public var trialTaskID: Int?
}

/// The circuit breaker of one kind of task (Nygard, "Release It!"): closed -> open after
/// `failureThreshold` consecutive failed attempts -> half-open after `coolDown` -> one trial task:
/// success closes, failure re-opens. Attempts that end cancelled or with a bad payload do not count.
/// Not thread-safe: the service keeps it under its lock.
struct CircuitBreaker {
    let kind: TaskKind
    var settings: BreakerSettings
    private(set) var state: BreakerState = .closed
    private(set) var consecutiveFailures = 0
    private(set) var openedAt: Date?
    private(set) var trialTaskID: Int?

    init(kind: TaskKind, settings: BreakerSettings) {
        self.kind = kind
        self.settings = settings
    }

    var retryAt: Date? { state == .open ? openedAt?.addingTimeInterval(settings.coolDown) : nil }

    /// Whether a task of this kind may be dispatched now (moves open -> half-open when the cool-down is over).
    mutating func allows(now: Date) -> Bool {
        if state == .open, let at = retryAt, now >= at {
            state = .halfOpen
            trialTaskID = nil
        }
        switch state {
        case .closed: return true
        case .open: return false
        case .halfOpen: return trialTaskID == nil
        }
    }

    mutating func dispatched(_ taskID: Int) {
        if state == .halfOpen, trialTaskID == nil { trialTaskID = taskID }
    }

    mutating func succeeded(_ taskID: Int) {
        switch state {
        case .closed: consecutiveFailures = 0
        case .halfOpen:
            state = .closed
            consecutiveFailures = 0
            openedAt = nil
            trialTaskID = nil
        case .open:
            break // a task that was running when the breaker opened: the cool-down still decides
        }
    }

    mutating func failed(_ taskID: Int, now: Date) {
        switch state {
        case .closed:
            consecutiveFailures += 1
            if consecutiveFailures >= settings.failureThreshold { open(now) }
        case .halfOpen:
            if trialTaskID == nil || trialTaskID == taskID { consecutiveFailures += 1; open(now) }
        case .open:
            consecutiveFailures += 1
        }
    }

    /// The attempt ended without a verdict (cancelled, bad payload, parked): a half-open breaker may try another.
    mutating func abandoned(_ taskID: Int) {
        if state == .halfOpen, trialTaskID == taskID { trialTaskID = nil }
    }

    private mutating func open(_ now: Date) {
        state = .open
        openedAt = now
        trialTaskID = nil
    }

    var status: BreakerStatus {
        BreakerStatus(kind: kind, state: state, consecutiveFailures: consecutiveFailures, openedAt: openedAt,
                      retryAt: retryAt, trialTaskID: trialTaskID)
    }
}
