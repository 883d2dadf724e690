import Foundation
import Logging

/// A task handler: CPU-bound, synchronous work on a worker thread. Returns the task's result; throwing
/// `DJCoreError.invalidArgument` means the payload is bad (not retried), any other error is retried.
public typealias TaskHandler = @Sendable (TaskContext) throws -> JSONValue

/// A handle to an event subscription; pass it to `unsubscribe`.
public struct SubscriptionToken: Hashable, Sendable {
    let id: UInt64
}

/// Several tasks submitted together (`TeamService.submit(batch:name:)`): the workflow record made for
/// them and their tasks by step name.
public struct BatchSubmission: Codable, Sendable, Equatable {
    public var workflow: Workflow
    public var tasks: [String: TeamTask]
}

/// DJCore's task layer: runs playlist, analyse, separate, effect and render tasks on a pool of worker
/// threads, with priorities, dependencies, time-outs, cancellation, retries with back-off, a dead-letter
/// list, per-kind limits and circuit breakers, on a persistent `TaskStore`.
///
/// Threads: workers are dedicated OS threads (Foundation `Thread`, normal priority, 8 MiB stacks), not the
/// Swift concurrency pool, because handlers are blocking CPU work that must not starve the server's async
/// tasks; the default count leaves one core to the audio thread. Every public method may be called from
/// any thread; they do a little in-memory work and at most a few store calls, and never wait for a
/// handler (except `shutdown`).
///
/// Life: `init` -> `register` handlers -> `start()` (re-queues the work a dead process left running, starts
/// the workers) -> ... -> `shutdown(timeout:)`. A service is started once.
///
/// Guarantees: a task runs only after all its dependencies succeeded; a committed result is never
/// replaced and a succeeded task never runs again (the store drops any late result); at most `limit`
/// handlers of a kind execute at once in this process; every state change is a history event.
public final class TeamService: @unchecked Sendable {
    public let store: TaskStore
    public let clock: TeamClock
    public let logger: Logger
    /// The settings it was made with (limits, workers and policy can change later: see `state()`).
    public let configuration: TeamConfiguration
    /// Names this process in worker ids.
    public let instanceID: String

    let metrics = TeamMetrics()

    // MARK: State (guarded by `cond`)

    private enum Phase { case created, running, stopping, stopped }

    private final class WorkerRecord: @unchecked Sendable {
        let id: String
        var retire = false
        var taskID: Int?
        var kind: TaskKind?
        var since: Date?
        var tasksDone = 0
        var busySeconds = 0.0
        init(id: String) { self.id = id }
    }

    private struct Job {
        var task: TeamTask
        let context: TaskContext
        let worker: WorkerRecord
        let startedAt: Date
        let deadline: Date?
        /// The store already has this attempt's end (time-out or shutdown): drop the handler's result.
        /// The payload's placeholders could not be resolved: the attempt fails without running.
        var payloadError: DJCoreError?
        var finalized = false
        var cancelRequested = false
    }

    /// A finished task or attempt, kept for `TeamManager.monitor()`.
    struct Completion: Sendable {
        let kind: TaskKind
        let state: TaskState
        let latency: Double
        let run: Double
        let at: Date
    }

    private let cond = NSCondition()
    /// Serialises "choose kinds -> claim -> count it running" so per-kind limits hold across workers.
    private let dispatchLock = NSLock()
    private var phase = Phase.created
    private var handlers: [TaskKind: TaskHandler] = [:]
    private var limits: [TaskKind: Int]
    private var policy: BalancePolicy
    private var breakers: [TaskKind: CircuitBreaker]
    private var runningByKind: [TaskKind: Int] = [:]
    private var jobs: [Int: Job] = [:]
    private var workers: [WorkerRecord] = []
    private var workerSerial = 0
    private var wantedWorkers: Int
    private var generation: UInt64 = 0
    private var scheduledWake: Date?
    private var startedAt: Date?
    private var lastStoreError: (message: String, at: Date)?
    private var completions: [Completion] = []
    private var subscribers: [UInt64: @Sendable (TaskEventRecord) -> Void] = [:]
    private var subscriberSerial: UInt64 = 0
    private let eventQueue = DispatchQueue(label: "djcore.team.events")

    /// Makes a service on `store`; nothing runs before `start()`.
    /// - Throws: `invalidArgument` naming a bad configuration field.
    public init(store: TaskStore, configuration: TeamConfiguration = TeamConfiguration(), clock: TeamClock = SystemTeamClock(),
                logger: Logger = Logger(label: "djcore.team")) throws {
        try configuration.validate()
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.logger = logger
        self.instanceID = configuration.instanceID
            ?? "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(String(UInt16.random(in: 0...UInt16.max), radix: 16))"
        limits = configuration.limits
        policy = configuration.policy
        wantedWorkers = configuration.workers
        breakers = Dictionary(uniqueKeysWithValues: TaskKind.allCases.map { ($0, CircuitBreaker(kind: $0, settings: configuration.breaker)) })
    }

    deinit {
        cond.lock()
        phase = .stopped
        cond.broadcast()
        cond.unlock()
    }

    // MARK: - Life

    /// Registers (or replaces) the handler of a kind. Tasks of a kind without one stay queued.
    public func register(_ kind: TaskKind, handler: @escaping TaskHandler) {
        locked { handlers[kind] = handler }
        signal()
    }

    /// Recovers what a dead process left running (re-queued, the interrupted attempt not counted;
    /// retry-wait tasks keep their time) and starts the workers and the lease timer.
    /// - Throws: `conflict` if already started, `store` errors.
    public func start() throws {
        try locked {
            guard phase == .created else { throw DJCoreError.conflict("the team service was already started") }
            phase = .running
            startedAt = clock.now
        }
        do {
            let events = try store.recoverRunning(now: clock.now, expiredOnly: configuration.sharedStore, reason: "after restart")
            if !events.isEmpty { logger.notice("team: re-queued \(events.count) tasks left running by a previous process") }
            publish(events)
        } catch {
            locked { phase = .stopped }
            throw error
        }
        locked { for _ in 0..<wantedWorkers { spawnWorker() } }
        scheduleTick()
        logger.info("team: started \(configuration.workers) workers as \(instanceID)")
    }

    /// Stops dispatching, lets running handlers finish for up to `timeout` seconds (real time), then parks
    /// the ones still running (they are re-queued at the next start; their contexts are cancelled and their
    /// late results dropped). Blocks the caller; returns the ids of the parked tasks.
    @discardableResult
    public func shutdown(timeout: Double) -> [Int] {
        cond.lock()
        guard phase == .running || phase == .created else { cond.unlock(); return [] }
        phase = .stopping
        cond.broadcast()
        let deadline = Date().addingTimeInterval(max(0, timeout))
        while jobs.values.contains(where: { !$0.finalized }), Date() < deadline {
            _ = cond.wait(until: deadline)
        }
        var parked: [Job] = []
        for (id, job) in jobs where !job.finalized {
            jobs[id]?.finalized = true
            job.context.cancel("was stopped: the service is shutting down")
            breakers[job.task.kind]?.abandoned(id)
            parked.append(job)
        }
        phase = .stopped
        cond.broadcast()
        cond.unlock()
        for job in parked {
            do {
                publish(try store.park(id: job.task.id, worker: job.worker.id, attempt: job.task.attempts, now: clock.now))
            } catch {
                logger.error("team: could not park task \(job.task.id): \(error)")
            }
        }
        if !parked.isEmpty { logger.notice("team: parked \(parked.count) running tasks at shutdown") }
        eventQueue.sync {}
        return parked.map(\.task.id).sorted()
    }

    /// `shutdown(timeout:)` from async code, without blocking a concurrency thread.
    @discardableResult
    public func shutdown(timeout: Double) async -> [Int] {
        await withCheckedContinuation { (c: CheckedContinuation<[Int], Never>) in
            Thread.detachNewThread { c.resume(returning: self.shutdown(timeout: timeout)) }
        }
    }

    // MARK: - Submitting

    /// Stores one task (queued, or pending until its dependencies succeed; failed at once if one of them
    /// already failed). - Throws: `invalidArgument` naming the bad field (unknown dependency included).
    @discardableResult
    public func submit(_ spec: TaskSpec) throws -> TeamTask {
        let insert = try makeInsert(spec, field: "", batchDeps: [], stepName: nil)
        let (tasks, _, events) = try store.insert([insert], workflowName: nil, now: clock.now)
        metrics.submitted(spec.kind)
        publish(events)
        signal()
        return tasks[0]
    }

    /// Stores several tasks at once, all or none, as one workflow named `name`. Steps depend on each
    /// other by name (a cycle, an unknown name or a duplicate is refused and nothing is stored) and may
    /// use `$steps.<name>.result...` placeholders (see `TaskStep`).
    /// - Throws: `invalidArgument` naming the bad step and field.
    public func submit(batch steps: [TaskStep], name: String = "batch") throws -> BatchSubmission {
        let inserts = try Self.plan(steps) { spec, field, deps, stepName in
            try makeInsert(spec, field: field, batchDeps: deps, stepName: stepName)
        }
        let (tasks, workflow, events) = try store.insert(inserts, workflowName: name, now: clock.now)
        for t in tasks { metrics.submitted(t.kind) }
        publish(events)
        signal()
        guard let workflow else { throw DJCoreError.store("the store did not return the workflow it made") }
        var byName: [String: TeamTask] = [:]
        for t in tasks { if let n = t.stepName { byName[n] = t } }
        return BatchSubmission(workflow: workflow, tasks: byName)
    }

    // MARK: - Reading and changing tasks

    /// The task with its history. - Throws: `notFound`.
    public func task(id: Int) throws -> TeamTask {
        guard let t = try store.task(id: id, history: true) else { throw DJCoreError.notFound("task \(id) does not exist") }
        return t
    }

    /// Tasks matching `filter`, without histories.
    public func list(_ filter: TaskFilter = TaskFilter()) throws -> [TeamTask] {
        try store.list(filter)
    }

    /// The dead-letter list, newest first.
    public func deadLetters(limit: Int = 100) throws -> [TeamTask] {
        try store.list(TaskFilter(states: [.deadLettered], limit: limit))
    }

    /// Cancels a task: at once if it is not running (and its dependents fail); a running one is told
    /// (`context.isCancelled`) and ends `cancelled` when its handler returns.
    /// - Throws: `notFound`, `conflict` if it has already finished.
    @discardableResult
    public func cancel(id: Int) throws -> TeamTask {
        let (task, events) = try store.cancel(id: id, now: clock.now)
        if task.state == .running {
            locked {
                if jobs[id] != nil {
                    jobs[id]?.cancelRequested = true
                    jobs[id]?.context.cancel("was cancelled")
                }
            }
        }
        publish(events)
        signal()
        return task
    }

    /// Puts a failed, dead-lettered or cancelled task back in the queue with its attempts reset, and
    /// with it the dependents it had failed. - Throws: `notFound`, `conflict`.
    @discardableResult
    public func retry(id: Int) throws -> TeamTask {
        let (task, events) = try store.retry(id: id, now: clock.now)
        publish(events)
        signal()
        return task
    }

    // MARK: - Settings

    /// Replaces the per-kind limits (kinds not listed: no limit but the workers; 0 pauses a kind).
    public func setLimits(_ newLimits: [TaskKind: Int]) throws {
        try TeamConfiguration.validate(limits: newLimits)
        locked { limits = newLimits }
        signal()
    }

    /// Grows or shrinks the worker pool; a worker leaving finishes its current task first.
    public func setWorkers(_ count: Int) throws {
        guard (1...256).contains(count) else { throw DJCoreError.invalidArgument("workers: \(count) is out of range (1...256)") }
        locked {
            wantedWorkers = count
            guard phase == .running else { return }
            let active = workers.filter { !$0.retire }
            if active.count < count {
                for _ in active.count..<count { spawnWorker() }
            } else {
                for w in active.suffix(active.count - count) { w.retire = true }
                cond.broadcast()
            }
        }
    }

    public func setPolicy(_ newPolicy: BalancePolicy) {
        locked { policy = newPolicy }
        signal()
    }

    // MARK: - Events

    /// Calls `handler` with every history event (and throttled progress events) as it happens, in order,
    /// on a private serial queue (never on a worker's critical path). Keep it quick.
    public func subscribe(_ handler: @escaping @Sendable (TaskEventRecord) -> Void) -> SubscriptionToken {
        locked {
            subscriberSerial += 1
            subscribers[subscriberSerial] = handler
            return SubscriptionToken(id: subscriberSerial)
        }
    }

    public func unsubscribe(_ token: SubscriptionToken) {
        _ = locked { subscribers.removeValue(forKey: token.id) }
    }

    // MARK: - Reports

    public func resources() throws -> TeamResources {
        let counts = try store.counts()
        let now = clock.now
        return locked {
            var kinds: [KindResources] = []
            var missing: [TaskKind] = []
            for kind in TaskKind.allCases {
                let queued = counts.filter { $0.kind == kind && $0.state == .queued }.reduce(0) { $0 + $1.count }
                let waiting = counts.filter { $0.kind == kind && ($0.state == .pending || $0.state == .retryWait) }.reduce(0) { $0 + $1.count }
                let has = handlers[kind] != nil
                if !has, queued > 0 { missing.append(kind) }
                kinds.append(KindResources(kind: kind, limit: limits[kind], running: runningByKind[kind] ?? 0, queued: queued,
                                           waiting: waiting, hasHandler: has, breaker: breakers[kind]?.state ?? .closed))
            }
            let states = workerStatuses(now: now)
            return TeamResources(
                workers: states.filter { $0.activity != .retiring || $0.taskID != nil }.count,
                busy: states.filter { $0.activity == .busy }.count, idle: states.filter { $0.activity == .idle }.count,
                stuck: states.filter { $0.activity == .stuck }.count, cores: ProcessInfo.processInfo.activeProcessorCount,
                kinds: kinds, limits: limits, kindsWithoutHandler: missing, workerStates: states)
        }
    }

    public func state() throws -> TeamStateReport {
        let counts = try store.counts()
        metrics.counts(counts)
        let now = clock.now
        return locked {
            var byState: [TaskState: Int] = [:]
            var byKind: [TaskKind: [TaskState: Int]] = [:]
            for s in TaskState.allCases { byState[s] = 0 }
            for c in counts {
                byState[c.state, default: 0] += c.count
                byKind[c.kind, default: [:]][c.state, default: 0] += c.count
            }
            return TeamStateReport(
                instanceID: instanceID, running: phase == .running,
                uptimeSeconds: startedAt.map { now.timeIntervalSince($0) } ?? 0, counts: byState, countsByKind: byKind,
                breakers: TaskKind.allCases.compactMap { kind in
                    // Bring an open breaker whose cool-down is over to half-open for the report.
                    _ = breakers[kind]?.allows(now: now)
                    return breakers[kind]?.status
                },
                workers: workerStatuses(now: now), policy: policy)
        }
    }

    /// ok / degraded / failing, with a sentence per reason: not running, store errors, open breakers,
    /// dead letters, queued kinds without a handler, paused kinds with work, workers stuck past a time-out.
    public func health() -> TeamHealth {
        let now = clock.now
        var status = HealthStatus.ok
        var reasons: [String] = []
        func note(_ s: HealthStatus, _ reason: String) { status = max(status, s); reasons.append(reason) }
        var counts: [TaskCount] = []
        do { counts = try store.counts() } catch { note(.failing, "the task store cannot be read: \(error)") }
        locked {
            if phase != .running { note(.failing, "the team service is not running") }
            if let e = lastStoreError, now.timeIntervalSince(e.at) < 60 { note(.failing, "the task store failed \(Int(now.timeIntervalSince(e.at))) s ago: \(e.message)") }
            for kind in TaskKind.allCases {
                guard var b = breakers[kind] else { continue }
                _ = b.allows(now: now)
                breakers[kind] = b
                switch b.state {
                case .open:
                    let left = max(0, (b.retryAt ?? now).timeIntervalSince(now))
                    note(.degraded, "the \(kind.rawValue) breaker is open after \(b.consecutiveFailures) consecutive failures; a trial task in \(Int(left.rounded(.up))) s")
                case .halfOpen: note(.degraded, "the \(kind.rawValue) breaker is half-open: one trial task decides")
                case .closed: break
                }
                let queued = counts.filter { $0.kind == kind && $0.state == .queued }.reduce(0) { $0 + $1.count }
                if queued > 0, handlers[kind] == nil {
                    note(.degraded, "\(queued) \(kind.rawValue) tasks are queued but no handler is registered for \(kind.rawValue)")
                } else if queued > 0, limits[kind] == 0 {
                    note(.degraded, "\(queued) \(kind.rawValue) tasks are queued but \(kind.rawValue) is paused (limit 0)")
                }
            }
            let stuck = jobs.values.filter(\.finalized)
            for job in stuck.sorted(by: { $0.task.id < $1.task.id }) {
                let over = job.deadline.map { Int(now.timeIntervalSince($0)) } ?? 0
                note(.degraded, "worker \(job.worker.id) is stuck: task \(job.task.id) (\(job.task.kind.rawValue)) ran past its time-out \(over) s ago and has not returned")
            }
            let active = workers.filter { !$0.retire }.count
            if phase == .running, active > 0, Set(stuck.map { ObjectIdentifier($0.worker) }).count >= active {
                note(.failing, "every worker is stuck in a task that timed out")
            }
        }
        let dead = counts.filter { $0.state == .deadLettered }.reduce(0) { $0 + $1.count }
        if dead > 0 { note(.degraded, "\(dead) tasks are on the dead-letter list") }
        return TeamHealth(status: status, reasons: reasons, checkedAt: now)
    }

    /// Finished tasks and attempts of the last `monitorWindow` seconds (for `TeamManager.monitor()`).
    func recentCompletions() -> [Completion] {
        let cutoff = clock.now.addingTimeInterval(-configuration.monitorWindow)
        return locked { completions.filter { $0.at >= cutoff } }
    }

    var currentLimits: [TaskKind: Int] { locked { limits } }
    var currentPolicy: BalancePolicy { locked { policy } }
    var currentWorkerCount: Int { locked { wantedWorkers } }

    // MARK: - Workers

    /// Called with `cond` locked.
    private func spawnWorker() {
        workerSerial += 1
        let record = WorkerRecord(id: "\(instanceID)/w\(workerSerial)")
        workers.append(record)
        let thread = Thread { [weak self] in self?.workerLoop(record) }
        thread.name = "djcore-team-w\(workerSerial)"
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func workerLoop(_ me: WorkerRecord) {
        while true {
            let (proceed, seen) = locked { (phase == .running && !me.retire, generation) }
            guard proceed else { break }
            if let job = dispatch(me) {
                execute(job)
                continue
            }
            cond.lock()
            if phase == .running, !me.retire, generation == seen {
                _ = cond.wait(until: Date().addingTimeInterval(configuration.pollInterval))
            }
            cond.unlock()
        }
        locked {
            workers.removeAll { $0 === me }
            cond.broadcast()
        }
    }

    /// Claims the next task this worker may run, or returns nil (and arranges a wake-up for the next
    /// retry time or breaker trial).
    private func dispatch(_ me: WorkerRecord) -> Job? {
        dispatchLock.lock()
        defer { dispatchLock.unlock() }
        let now = clock.now
        let (order, retryKinds, breakerWake) = locked { () -> ([[TaskKind]], [TaskKind], Date?) in
            var allowed: [TaskKind] = []
            var retryKinds: [TaskKind] = []
            var wake: Date?
            for kind in TaskKind.allCases where handlers[kind] != nil {
                if let limit = limits[kind], (runningByKind[kind] ?? 0) >= limit { continue }
                retryKinds.append(kind)
                if breakers[kind]!.allows(now: now) { allowed.append(kind) }
                else if let at = breakers[kind]!.retryAt { wake = min(wake ?? at, at) }
            }
            switch policy {
            case .priority: return (allowed.isEmpty ? [] : [allowed], retryKinds, wake)
            case .fair:
                let sorted = allowed.sorted { (runningByKind[$0] ?? 0, $0) < (runningByKind[$1] ?? 0, $1) }
                return (sorted.map { [$0] }, retryKinds, wake)
            }
        }
        let lease = now.addingTimeInterval(configuration.leaseDuration)
        do {
            for kinds in order {
                guard let (task, started) = try store.claim(kinds: kinds, worker: me.id, now: now, leaseUntil: lease) else { continue }
                var payload = task.payload
                var payloadError: DJCoreError?
                do { payload = try resolvePlaceholders(task) }
                catch let e as DJCoreError { payloadError = e }
                catch { payloadError = .invalidArgument("payload: \(error)") }
                let context = makeContext(task, payload: payload, worker: me)
                let deadline = task.timeout.map { now.addingTimeInterval($0) }
                let job = Job(task: task, context: context, worker: me, startedAt: now, deadline: deadline, payloadError: payloadError)
                locked {
                    jobs[task.id] = job
                    runningByKind[task.kind, default: 0] += 1
                    breakers[task.kind]?.dispatched(task.id)
                    me.taskID = task.id
                    me.kind = task.kind
                    me.since = now
                    lastStoreError = nil
                }
                if task.attempts == 1 { metrics.started(waited: now.timeIntervalSince(task.submittedAt)) }
                publish([started])
                if let deadline { clock.wake(at: deadline) { [weak self] in self?.checkTimeouts() } }
                return job
            }
            var next = breakerWake
            if let r = try store.nextRetryTime(kinds: retryKinds) { next = min(next ?? r, r) }
            if let next { scheduleWake(at: next) }
        } catch {
            logger.error("team: dispatch failed: \(error)")
            locked { lastStoreError = ("\(error)", now) }
        }
        return nil
    }

    private func makeContext(_ task: TeamTask, payload: JSONValue, worker: WorkerRecord) -> TaskContext {
        var log = logger
        log[metadataKey: "task"] = "\(task.id)"
        log[metadataKey: "kind"] = "\(task.kind.rawValue)"
        log[metadataKey: "attempt"] = "\(task.attempts)"
        let id = task.id, kind = task.kind, store = self.store
        return TaskContext(
            taskID: task.id, kind: task.kind, payload: payload, attempt: task.attempts, workerID: worker.id, logger: log,
            progressInterval: .milliseconds(Int64(configuration.progressInterval * 1000))
        ) { [weak self] fraction, message in
            try? store.setProgress(id: id, fraction: fraction, message: message)
            guard let self else { return }
            self.publish([TaskEventRecord(id: 0, taskID: id, kind: kind, at: self.clock.now, type: .progress, state: .running,
                                          message: message ?? String(format: "%.0f %%", fraction * 100), progress: fraction)])
        }
    }

    private func execute(_ job: Job) {
        let handler = locked { handlers[job.task.kind] }
        let started = ContinuousClock.now
        let outcome: Result<JSONValue, Error>
        do {
            if let e = job.payloadError { throw e }
            guard let handler else { throw DJCoreError.conflict("no handler is registered for \(job.task.kind.rawValue)") }
            outcome = .success(try handler(job.context))
        } catch {
            outcome = .failure(error)
        }
        let d = ContinuousClock.now - started
        settle(job, outcome: outcome, runSeconds: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }

    /// Records the end of an attempt whose handler returned.
    private func settle(_ job: Job, outcome: Result<JSONValue, Error>, runSeconds: Double) {
        let task = job.task
        let now = clock.now
        let current = locked { () -> Job? in
            let j = jobs.removeValue(forKey: task.id)
            runningByKind[task.kind, default: 1] -= 1
            job.worker.taskID = nil
            job.worker.kind = nil
            job.worker.since = nil
            job.worker.tasksDone += 1
            job.worker.busySeconds += runSeconds
            cond.broadcast()
            return j
        }
        signal()
        guard let current, !current.finalized else {
            logger.info("team: task \(task.id) attempt \(task.attempts) returned after it had ended; its result is dropped")
            return
        }
        let storeOutcome: TaskOutcome
        var failedAttempt = false
        switch outcome {
        case _ where current.cancelRequested:
            storeOutcome = .cancelled
            locked { breakers[task.kind]?.abandoned(task.id) }
        case let .success(value):
            storeOutcome = .succeeded(value)
            locked { breakers[task.kind]?.succeeded(task.id) }
        case let .failure(error):
            if case let DJCoreError.invalidArgument(message) = error {
                storeOutcome = .failed(error: message, then: .permanent, timedOut: false)
                locked { breakers[task.kind]?.abandoned(task.id) }
            } else {
                let message = (error as? DJCoreError)?.description ?? String(describing: error)
                storeOutcome = .failed(error: message, then: disposition(task), timedOut: false)
                failedAttempt = true
                locked { breakers[task.kind]?.failed(task.id, now: now) }
            }
        }
        record(task, outcome: storeOutcome, runSeconds: runSeconds, failedAttempt: failedAttempt, worker: job.worker.id, now: now)
    }

    private func disposition(_ task: TeamTask) -> FailureDisposition {
        task.attempts < task.retry.maxAttempts
            ? .retry(after: task.retry.delay(afterAttempt: task.attempts, unit: Double.random(in: -1...1)))
            : .deadLetter
    }

    private func record(_ task: TeamTask, outcome: TaskOutcome, runSeconds: Double, failedAttempt: Bool, worker: String, now: Date) {
        do {
            guard let events = try store.finish(id: task.id, worker: worker, attempt: task.attempts, outcome: outcome,
                                                runSeconds: runSeconds, now: now) else {
                logger.info("team: task \(task.id) attempt \(task.attempts) is no longer this worker's; its outcome is dropped")
                return
            }
            publish(events)
            metrics.attempt(task.kind, seconds: runSeconds, failed: failedAttempt)
            let finalState = events.last(where: { $0.taskID == task.id })?.state ?? .running
            let latency = now.timeIntervalSince(task.submittedAt)
            if finalState.isFinished { metrics.finished(task.kind, state: finalState, latency: latency) }
            locked {
                completions.append(Completion(kind: task.kind, state: finalState, latency: latency, run: runSeconds, at: now))
                if completions.count > 5000 { completions.removeFirst(completions.count - 4000) }
            }
            for e in events where e.type == .retryScheduled {
                if let d = e.delaySeconds { scheduleWake(at: now.addingTimeInterval(d)) }
            }
        } catch {
            logger.error("team: could not record the end of task \(task.id): \(error)")
            locked { lastStoreError = ("\(error)", now) }
        }
        signal()
    }

    /// Ends the attempts whose time-out has passed: counted as failed, contexts cancelled, results dropped.
    private func checkTimeouts() {
        let now = clock.now
        let expired = locked { () -> [Job] in
            var out: [Job] = []
            for (id, job) in jobs where !job.finalized {
                guard let d = job.deadline, d <= now else { continue }
                jobs[id]?.finalized = true
                out.append(job)
            }
            return out
        }
        for job in expired {
            let limit = job.task.timeout ?? 0
            job.context.cancel("timed out after \(Self.format(limit))")
            locked { jobs[job.task.id]?.context.cancel("timed out after \(Self.format(limit))") }
            let cancelled = locked { jobs[job.task.id]?.cancelRequested ?? job.cancelRequested }
            let outcome: TaskOutcome
            if cancelled {
                outcome = .cancelled
                locked { breakers[job.task.kind]?.abandoned(job.task.id) }
            } else {
                outcome = .failed(error: "timed out after \(Self.format(limit))", then: disposition(job.task), timedOut: true)
                locked { breakers[job.task.kind]?.failed(job.task.id, now: now) }
            }
            logger.warning("team: task \(job.task.id) attempt \(job.task.attempts) timed out after \(Self.format(limit))")
            record(job.task, outcome: outcome, runSeconds: now.timeIntervalSince(job.startedAt), failedAttempt: !cancelled,
                   worker: job.worker.id, now: now)
        }
    }

    /// Lease renewal, cross-process cancellation, expired-lease recovery (shared stores), gauges.
    private func scheduleTick() {
        clock.wake(at: clock.now.addingTimeInterval(configuration.leaseDuration / 3)) { [weak self] in self?.tick() }
    }

    private func tick() {
        guard locked({ phase == .running }) else { return }
        let now = clock.now
        let running = locked { jobs.filter { !$0.value.finalized }.mapValues { $0.worker.id } }
        do {
            let cancelled = try store.renewLeases(running, until: now.addingTimeInterval(configuration.leaseDuration))
            locked {
                for id in cancelled where jobs[id]?.cancelRequested == false {
                    jobs[id]?.cancelRequested = true
                    jobs[id]?.context.cancel("was cancelled")
                }
            }
            if configuration.sharedStore {
                publish(try store.recoverRunning(now: now, expiredOnly: true, reason: "after its worker's lease ran out"))
            }
            metrics.counts(try store.counts())
        } catch {
            logger.error("team: lease renewal failed: \(error)")
            locked { lastStoreError = ("\(error)", now) }
        }
        checkTimeouts()
        signal()
        scheduleTick()
    }

    private func scheduleWake(at date: Date) {
        let schedule = locked { () -> Bool in
            if let s = scheduledWake, s <= date, s > clock.now { return false }
            scheduledWake = date
            return true
        }
        guard schedule else { return }
        clock.wake(at: date) { [weak self] in
            guard let self else { return }
            self.locked { if self.scheduledWake == date { self.scheduledWake = nil } }
            self.signal()
        }
    }

    /// Wakes idle workers to look for work.
    private func signal() {
        cond.lock()
        generation &+= 1
        cond.broadcast()
        cond.unlock()
    }

    private func publish(_ events: [TaskEventRecord]) {
        guard !events.isEmpty else { return }
        let targets = locked { Array(subscribers.values) }
        guard !targets.isEmpty else { return }
        eventQueue.async {
            for e in events { for t in targets { t(e) } }
        }
    }

    /// Waits until every event published so far has been delivered to subscribers (for tests and shutdown).
    public func flushEvents() {
        eventQueue.sync {}
    }

    private func workerStatuses(now: Date) -> [WorkerStatus] {
        workers.map { w in
            let job = w.taskID.flatMap { jobs[$0] }
            let activity: WorkerActivity
            if job?.finalized == true { activity = .stuck }
            else if w.retire { activity = .retiring }
            else if w.taskID != nil { activity = .busy }
            else { activity = .idle }
            return WorkerStatus(id: w.id, activity: activity, taskID: w.taskID, kind: w.kind, since: w.since,
                                tasksDone: w.tasksDone, busySeconds: w.busySeconds)
        }
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        cond.lock()
        defer { cond.unlock() }
        return try body()
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() && seconds < 1e9 ? "\(Int(seconds)) s" : String(format: "%.2f s", seconds)
    }
}
