import Dispatch
import Foundation
import Synchronization

/// The Team Service's time: what time it is, and a way to be woken at a given time (retry back-off,
/// breaker cool-down, time-outs, lease renewal). Tests drive a `ManualTeamClock` instead of sleeping.
public protocol TeamClock: Sendable {
    var now: Date { get }
    /// Calls `action` once, on some thread, at or after `deadline` (at once if it has passed).
    func wake(at deadline: Date, _ action: @escaping @Sendable () -> Void)
}

/// Wall-clock time; wake-ups from a Dispatch timer on a utility queue.
public struct SystemTeamClock: TeamClock {
    private static let queue = DispatchQueue(label: "djcore.team.clock", qos: .utility)
    public init() {}
    public var now: Date { Date() }
    public func wake(at deadline: Date, _ action: @escaping @Sendable () -> Void) {
        let delay = max(0, deadline.timeIntervalSinceNow)
        Self.queue.asyncAfter(deadline: .now() + delay) { action() }
    }
}

/// A clock that moves only when told to: `advance(by:)` runs the wake-ups that fell due, on the caller's
/// thread, in deadline order.
public final class ManualTeamClock: TeamClock, @unchecked Sendable {
    private struct State {
        var now: Date
        var pending: [(deadline: Date, order: Int, action: @Sendable () -> Void)] = []
        var order = 0
    }
    private let state: Mutex<State>

    public init(now: Date = Date(timeIntervalSince1970: 1_700_000_000)) {
        state = Mutex(State(now: now))
    }

    public var now: Date { state.withLock { $0.now } }

    public func wake(at deadline: Date, _ action: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { s -> Bool in
            if deadline <= s.now { return true }
            s.order += 1
            s.pending.append((deadline, s.order, action))
            return false
        }
        if runNow { action() }
    }

    /// Moves time forward and runs what fell due.
    public func advance(by seconds: Double) {
        let due = state.withLock { s -> [@Sendable () -> Void] in
            s.now = s.now.addingTimeInterval(seconds)
            let now = s.now
            let due = s.pending.filter { $0.deadline <= now }.sorted { ($0.deadline, $0.order) < ($1.deadline, $1.order) }
            s.pending.removeAll { $0.deadline <= now }
            return due.map(\.action)
        }
        for action in due { action() }
    }

    /// Wake-ups not yet due.
    public var pendingWakeUps: Int { state.withLock { $0.pending.count } }
}
