import Foundation

/// Coordinates multi-step work on a `TeamService`, reports how it goes and steers the worker pool.
///
/// - `coordinate` turns a template ("prepare-track") or explicit steps into one batch of tasks with
///   dependencies, stored as a workflow (`team_workflows`), so `workflow(id:)` works after a restart.
/// - `monitor` summarises recent tasks (latency percentiles, throughput, queue depth, dead letters,
///   breakers) and adds the engine's metrics from the provider the daemon gives.
/// - `balance` / `setBalance` show and change per-kind limits, the worker count and the dispatch policy.
///
/// Thread-safety: every method may be called from any thread.
public final class TeamManager: Sendable {
    public let service: TeamService
    private let engineMetrics: (@Sendable () -> JSONValue)?

    /// `engineMetrics`: called by `monitor()` for the engine's side (render time, xruns, command queue).
    public init(service: TeamService, engineMetrics: (@Sendable () -> JSONValue)? = nil) {
        self.service = service
        self.engineMetrics = engineMetrics
    }

    /// Submits the workflow's tasks at once (all or none) and returns it.
    /// - Throws: `invalidArgument` naming the bad field (unknown template, missing path, step cycle...).
    @discardableResult
    public func coordinate(_ request: WorkflowRequest) throws -> Workflow {
        let (name, steps) = try request.expand()
        return try service.submit(batch: steps, name: name).workflow
    }

    /// - Throws: `notFound`.
    public func workflow(id: Int) throws -> Workflow {
        guard let w = try service.store.workflow(id: id) else { throw DJCoreError.notFound("workflow \(id) does not exist") }
        return w
    }

    /// Newest first.
    public func workflows(limit: Int = 100, offset: Int = 0) throws -> [Workflow] {
        guard (1...1000).contains(limit) else { throw DJCoreError.invalidArgument("limit: \(limit) is out of range (1...1000)") }
        guard offset >= 0 else { throw DJCoreError.invalidArgument("offset: \(offset) must be 0 or more") }
        return try service.store.workflows(limit: limit, offset: offset)
    }

    public func monitor() throws -> TeamMonitorReport {
        let state = try service.state()
        let now = service.clock.now
        let recent = service.recentCompletions()
        let finished = recent.filter { $0.state.isFinished }
        let window = min(service.configuration.monitorWindow, max(1, state.uptimeSeconds))
        var byKind: [TaskKind: LatencySummary] = [:]
        for kind in Set(finished.map(\.kind)) {
            byKind[kind] = LatencySummary(finished.filter { $0.kind == kind }.map(\.latency))
        }
        let oldest = try service.store.oldestReady(now: now)
        let queued = state.counts[.queued] ?? 0
        return TeamMonitorReport(
            at: now, windowSeconds: window, counts: state.counts, countsByKind: state.countsByKind,
            latency: LatencySummary(finished.map(\.latency)), latencyByKind: byKind, runTime: LatencySummary(recent.map(\.run)),
            throughputPerMinute: Double(finished.count) / (window / 60),
            succeeded: finished.filter { $0.state == .succeeded }.count,
            failed: finished.filter { $0.state == .failed || $0.state == .deadLettered }.count,
            queueDepth: queued, oldestQueuedSeconds: oldest.map { max(0, now.timeIntervalSince($0)) },
            deadLetters: state.counts[.deadLettered] ?? 0, breakers: state.breakers, engine: engineMetrics?())
    }

    public func balance() throws -> BalanceReport {
        let resources = try service.resources()
        let state = try service.state()
        return BalanceReport(policy: service.currentPolicy, workers: service.currentWorkerCount, cores: resources.cores,
                             uptimeSeconds: state.uptimeSeconds, workerStates: resources.workerStates, kinds: resources.kinds,
                             limits: resources.limits)
    }

    /// Applies the fields that are set (all validated before any is applied) and returns the new balance.
    /// - Throws: `invalidArgument` naming the bad field.
    @discardableResult
    public func setBalance(_ settings: BalanceSettings) throws -> BalanceReport {
        if let limits = settings.limits { try TeamConfiguration.validate(limits: limits) }
        if let w = settings.workers, !(1...256).contains(w) {
            throw DJCoreError.invalidArgument("workers: \(w) is out of range (1...256)")
        }
        if let limits = settings.limits { try service.setLimits(limits) }
        if let w = settings.workers { try service.setWorkers(w) }
        if let p = settings.policy { service.setPolicy(p) }
        return try balance()
    }

    /// The service's health, plus a backlog check: ready tasks waiting more than 10 minutes while no
    /// worker is free.
    public func health() -> TeamHealth {
        var h = service.health()
        if let oldest = try? service.store.oldestReady(now: h.checkedAt), h.checkedAt.timeIntervalSince(oldest) > 600,
           let r = try? service.resources(), r.idle == 0, r.workers > 0 {
            h.status = max(h.status, .degraded)
            h.reasons.append("a ready task has waited \(Int(h.checkedAt.timeIntervalSince(oldest))) s with every worker busy")
        }
        return h
    }
}
