import Foundation
import Metrics

/// The Team Service's swift-metrics instruments (no-ops until the daemon bootstraps a backend; make the
/// service after bootstrapping). Names follow Prometheus conventions:
/// - `djcore_tasks{state}` gauge: tasks in each state (refreshed on every lease tick and `state()` call);
/// - `djcore_tasks_submitted_total{kind}`, `djcore_tasks_succeeded_total{kind}`,
///   `djcore_tasks_failed_total{kind}` (failed for good or dead-lettered),
///   `djcore_task_attempts_failed_total{kind}` counters;
/// - `djcore_task_latency_seconds{kind}` (submission to finish), `djcore_task_run_seconds{kind}` (one
///   attempt in its handler), `djcore_task_queue_wait_seconds` (ready to started) timers.
final class TeamMetrics: Sendable {
    private let states: [TaskState: Gauge]
    private let submitted: [TaskKind: Counter]
    private let succeeded: [TaskKind: Counter]
    private let failed: [TaskKind: Counter]
    private let attemptsFailed: [TaskKind: Counter]
    private let latency: [TaskKind: Metrics.Timer]
    private let run: [TaskKind: Metrics.Timer]
    private let queueWait: Metrics.Timer

    init() {
        func perKind<T>(_ make: (TaskKind) -> T) -> [TaskKind: T] {
            Dictionary(uniqueKeysWithValues: TaskKind.allCases.map { ($0, make($0)) })
        }
        states = Dictionary(uniqueKeysWithValues: TaskState.allCases.map {
            ($0, Gauge(label: "djcore_tasks", dimensions: [("state", $0.rawValue)]))
        })
        submitted = perKind { Counter(label: "djcore_tasks_submitted_total", dimensions: [("kind", $0.rawValue)]) }
        succeeded = perKind { Counter(label: "djcore_tasks_succeeded_total", dimensions: [("kind", $0.rawValue)]) }
        failed = perKind { Counter(label: "djcore_tasks_failed_total", dimensions: [("kind", $0.rawValue)]) }
        attemptsFailed = perKind { Counter(label: "djcore_task_attempts_failed_total", dimensions: [("kind", $0.rawValue)]) }
        latency = perKind { Metrics.Timer(label: "djcore_task_latency_seconds", dimensions: [("kind", $0.rawValue)], preferredDisplayUnit: .seconds) }
        run = perKind { Metrics.Timer(label: "djcore_task_run_seconds", dimensions: [("kind", $0.rawValue)], preferredDisplayUnit: .seconds) }
        queueWait = Metrics.Timer(label: "djcore_task_queue_wait_seconds", preferredDisplayUnit: .seconds)
    }

    func counts(_ counts: [TaskCount]) {
        var byState: [TaskState: Int] = [:]
        for c in counts { byState[c.state, default: 0] += c.count }
        for (s, g) in states { g.record(byState[s] ?? 0) }
    }

    func submitted(_ kind: TaskKind) { submitted[kind]?.increment() }
    func started(waited: Double) { queueWait.recordSeconds(max(0, waited)) }
    func attempt(_ kind: TaskKind, seconds: Double, failed didFail: Bool) {
        run[kind]?.recordSeconds(max(0, seconds))
        if didFail { attemptsFailed[kind]?.increment() }
    }
    func finished(_ kind: TaskKind, state: TaskState, latency seconds: Double) {
        latency[kind]?.recordSeconds(max(0, seconds))
        switch state {
        case .succeeded: succeeded[kind]?.increment()
        case .failed, .deadLettered: failed[kind]?.increment()
        default: break
        }
    }
}
