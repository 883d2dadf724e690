import DJCore
import Foundation
import Synchronization
import Testing

/// Waits (polling every 2 ms) until `condition` holds; records an issue and throws after `timeout` s.
func teamWait(_ what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        Thread.sleep(forTimeInterval: 0.002)
    }
    if try condition() { return }
    Issue.record("gave up after \(timeout) s waiting for \(what)")
    throw DJCoreError.timedOut("waiting for \(what)")
}

/// A service on a fresh SQLite file, with fast test settings.
final class TeamFixture: @unchecked Sendable {
    let tmp: TeamTempDB
    let store: SQLiteTaskStore
    let service: TeamService

    init(workers: Int = 2, clock: TeamClock = SystemTeamClock(), limits: [TaskKind: Int] = [:],
         breaker: BreakerSettings = BreakerSettings(), tmp: TeamTempDB? = nil, timeout: Double? = 30) throws {
        self.tmp = try tmp ?? TeamTempDB()
        store = try SQLiteTaskStore(path: self.tmp.path)
        service = try TeamService(
            store: store,
            configuration: TeamConfiguration(workers: workers, retry: RetryPolicy(maxAttempts: 3, baseDelay: 0.05, maxDelay: 1, jitter: 0),
                                             defaultTimeout: timeout, limits: limits, breaker: breaker, pollInterval: 0.05,
                                             progressInterval: 0, instanceID: "test"),
            clock: clock)
    }

    func waitFor(_ id: Int, _ states: Set<TaskState>, timeout: Double = 60) throws -> TeamTask {
        try teamWait("task \(id) to be \(states.map(\.rawValue).sorted())", timeout: timeout) {
            states.contains(try service.task(id: id).state)
        }
        return try service.task(id: id)
    }

    deinit {
        service.shutdown(timeout: 2)
        tmp.remove()
    }
}

struct TeamTestFailure: Error, CustomStringConvertible {
    let description: String
}

@Suite("Team service")
struct TeamServiceTests {
    @Test func a_submitted_task_runs_and_succeeds_with_its_result() throws {
        let f = try TeamFixture()
        f.service.register(.analyse) { ctx in
            guard case let .object(p) = ctx.payload, case let .string(path)? = p["path"] else {
                throw DJCoreError.invalidArgument("path: missing")
            }
            return .object(["bpm": .number(128), "path": .string(path), "attempt": .number(Double(ctx.attempt))])
        }
        try f.service.start()
        let t = try f.service.submit(TaskSpec(kind: .analyse, payload: .object(["path": .string("/a.flac")])))
        #expect(t.state == .queued)
        let done = try f.waitFor(t.id, [.succeeded])
        #expect(done.result == .object(["bpm": .number(128), "path": .string("/a.flac"), "attempt": .number(1)]))
        #expect(done.attempts == 1)
        #expect(done.history.map(\.type) == [.submitted, .started, .succeeded])
        #expect(done.history[1].message == "started attempt 1 on worker \(done.history[1].worker ?? "")")
        #expect(done.history[1].worker?.hasPrefix("test/w") == true)
    }

    @Test func one_worker_runs_highest_priority_first_then_oldest() throws {
        let f = try TeamFixture(workers: 1)
        let order = Mutex<[Int]>([])
        f.service.register(.render) { ctx in
            order.withLock { $0.append(ctx.taskID) }
            return .null
        }
        let low = try f.service.submit(TaskSpec(kind: .render, priority: 0))
        let highOld = try f.service.submit(TaskSpec(kind: .render, priority: 10))
        let mid = try f.service.submit(TaskSpec(kind: .render, priority: 5))
        let highNew = try f.service.submit(TaskSpec(kind: .render, priority: 10))
        try f.service.start()
        try teamWait("all four to run") { order.withLock { $0.count } == 4 }
        #expect(order.withLock { $0 } == [highOld.id, highNew.id, mid.id, low.id])
    }

    @Test func a_task_that_fails_twice_succeeds_on_attempt_3_with_growing_backoff_in_its_history() throws {
        let f = try TeamFixture()
        let calls = Atomic<Int>(0)
        f.service.register(.separate) { _ in
            let n = calls.add(1, ordering: .sequentiallyConsistent).newValue
            if n < 3 { throw TeamTestFailure(description: "flaky \(n)") }
            return .string("stems")
        }
        try f.service.start()
        let t = try f.service.submit(TaskSpec(kind: .separate))
        let done = try f.waitFor(t.id, [.succeeded, .deadLettered, .failed])
        #expect(done.state == .succeeded)
        #expect(done.attempts == 3)
        #expect(done.result == .string("stems"))
        let delays = done.history.filter { $0.type == .retryScheduled }.compactMap(\.delaySeconds)
        #expect(delays.count == 2)
        #expect(abs(delays[0] - 0.05) < 1e-9 && abs(delays[1] - 0.1) < 1e-9, "delays \(delays)")
        #expect(done.history.filter { $0.type == .failed }.map(\.message) == ["failed attempt 1: flaky 1", "failed attempt 2: flaky 2"])
        #expect(done.history.contains { $0.message == "retry scheduled in 0.10 s (attempt 3 of 3)" })
        // The back-off really was waited for: attempt 3 started at least 0.1 s after attempt 2 failed.
        let failed2 = try #require(done.history.last { $0.type == .failed })
        let started3 = try #require(done.history.last { $0.type == .started })
        #expect(started3.at.timeIntervalSince(failed2.at) >= 0.1 - 1e-3)
    }

    @Test func a_task_failing_every_attempt_is_dead_lettered_after_max_attempts() throws {
        let f = try TeamFixture()
        let calls = Atomic<Int>(0)
        f.service.register(.effect) { _ in
            calls.add(1, ordering: .sequentiallyConsistent)
            throw DJCoreError.fileWrite(path: "/out.wav", detail: "disk full")
        }
        try f.service.start()
        let t = try f.service.submit(TaskSpec(kind: .effect, maxAttempts: 2))
        let done = try f.waitFor(t.id, [.deadLettered])
        #expect(done.attempts == 2)
        #expect(calls.load(ordering: .sequentiallyConsistent) == 2)
        #expect(done.error == "/out.wav: disk full")
        #expect(done.history.last?.message == "dead-lettered after 2 attempts: /out.wav: disk full")
        #expect(try f.service.deadLetters().map(\.id) == [t.id])
        let health = f.service.health()
        #expect(health.status == .degraded)
        #expect(health.reasons.contains("1 tasks are on the dead-letter list"))
        // Retried by hand: attempts reset, and it runs again.
        let again = try f.service.retry(id: t.id)
        #expect(again.attempts == 0)
        #expect(again.state == .queued)
        _ = try f.waitFor(t.id, [.deadLettered])
        #expect(calls.load(ordering: .sequentiallyConsistent) == 4)
    }

    @Test func invalid_argument_from_a_handler_fails_at_once_without_retries() throws {
        let f = try TeamFixture()
        let calls = Atomic<Int>(0)
        f.service.register(.playlist) { _ in
            calls.add(1, ordering: .sequentiallyConsistent)
            throw DJCoreError.invalidArgument("playlist: \"nope\" does not exist")
        }
        try f.service.start()
        let t = try f.service.submit(TaskSpec(kind: .playlist, maxAttempts: 5))
        let done = try f.waitFor(t.id, [.failed, .deadLettered])
        #expect(done.state == .failed)
        #expect(done.attempts == 1)
        #expect(done.error == "playlist: \"nope\" does not exist")
        #expect(calls.load(ordering: .sequentiallyConsistent) == 1)
        #expect(!done.history.contains { $0.type == .retryScheduled })
    }

    @Test func a_dependency_chain_runs_in_order_and_a_failed_dependency_fails_its_dependents_unrun() throws {
        let f = try TeamFixture(workers: 3)
        let ran = Mutex<[String]>([])
        f.service.register(.analyse) { ctx in
            ran.withLock { $0.append("analyse \(ctx.taskID)") }
            Thread.sleep(forTimeInterval: 0.02) // let dependents show they wait
            return .null
        }
        f.service.register(.separate) { ctx in ran.withLock { $0.append("separate \(ctx.taskID)") }; return .null }
        f.service.register(.playlist) { ctx in ran.withLock { $0.append("playlist \(ctx.taskID)") }; return .null }
        f.service.register(.render) { _ in throw DJCoreError.invalidArgument("mix: broken") }
        try f.service.start()
        let a = try f.service.submit(TaskSpec(kind: .analyse))
        let b = try f.service.submit(TaskSpec(kind: .separate, dependsOn: [a.id]))
        let c = try f.service.submit(TaskSpec(kind: .playlist, dependsOn: [b.id]))
        #expect(b.state == .pending && c.state == .pending)
        _ = try f.waitFor(c.id, [.succeeded])
        #expect(ran.withLock { $0 } == ["analyse \(a.id)", "separate \(b.id)", "playlist \(c.id)"])
        let cDone = try f.service.task(id: c.id)
        #expect(cDone.history.map(\.type) == [.submitted, .queued, .started, .succeeded])

        let bad = try f.service.submit(TaskSpec(kind: .render))
        let dep1 = try f.service.submit(TaskSpec(kind: .separate, dependsOn: [bad.id]))
        let dep2 = try f.service.submit(TaskSpec(kind: .playlist, dependsOn: [dep1.id, a.id]))
        let d2 = try f.waitFor(dep2.id, [.failed])
        let d1 = try f.service.task(id: dep1.id)
        #expect(d1.state == .failed && d1.error == "dependency \(bad.id) failed")
        #expect(d2.error == "dependency \(dep1.id) failed")
        #expect(d1.attempts == 0 && d2.attempts == 0)
        #expect(!ran.withLock { $0 }.contains("separate \(dep1.id)"))
        // A new task depending on a failed one fails at once.
        let late = try f.service.submit(TaskSpec(kind: .separate, dependsOn: [bad.id]))
        #expect(late.state == .failed && late.error == "dependency \(bad.id) failed")
    }

    @Test func a_cycle_in_a_batch_is_refused_and_nothing_is_stored() throws {
        let f = try TeamFixture()
        let steps = [
            TaskStep(name: "a", kind: .analyse, dependsOn: ["c"]),
            TaskStep(name: "b", kind: .separate, dependsOn: ["a"]),
            TaskStep(name: "c", kind: .playlist, dependsOn: ["b"]),
            TaskStep(name: "d", kind: .render),
        ]
        #expect(throws: DJCoreError.invalidArgument("steps: a -> c -> b -> a depend on each other in a cycle; nothing was submitted")) {
            try f.service.submit(batch: steps)
        }
        #expect(throws: DJCoreError.self) { try f.service.submit(batch: [TaskStep(name: "self", kind: .render, dependsOn: ["self"])]) }
        #expect(throws: DJCoreError.invalidArgument("steps[1].dependsOn: no step is named \"x\" (step b)")) {
            try f.service.submit(batch: [TaskStep(name: "a", kind: .analyse), TaskStep(name: "b", kind: .render, dependsOn: ["x"])])
        }
        #expect(throws: DJCoreError.invalidArgument("steps[1].name: \"a\" is already the name of steps[0]")) {
            try f.service.submit(batch: [TaskStep(name: "a", kind: .analyse), TaskStep(name: "a", kind: .render)])
        }
        #expect(try f.service.list().isEmpty)
        #expect(try f.store.workflows(limit: 10, offset: 0).isEmpty)
    }

    @Test func an_unknown_dependency_id_is_refused() throws {
        let f = try TeamFixture()
        #expect(throws: DJCoreError.invalidArgument("dependsOn: task 4242 does not exist")) {
            try f.service.submit(TaskSpec(kind: .render, dependsOn: [4242]))
        }
        #expect(throws: DJCoreError.invalidArgument("dependsOn: -1 is not a task id")) {
            try f.service.submit(TaskSpec(kind: .render, dependsOn: [-1]))
        }
        #expect(throws: DJCoreError.invalidArgument("maxAttempts: 0 is out of range (1...1000)")) {
            try f.service.submit(TaskSpec(kind: .render, maxAttempts: 0))
        }
        #expect(throws: DJCoreError.invalidArgument("steps[0].timeout: -2.0 s must be more than 0")) {
            try f.service.submit(batch: [TaskStep(name: "a", kind: .render, timeout: -2)])
        }
        #expect(try f.service.list().isEmpty)
    }

    @Test func cancel_ends_a_queued_task_at_once_and_a_running_one_when_its_handler_returns() throws {
        let f = try TeamFixture()
        let sawCancel = Atomic<Bool>(false)
        let started = Atomic<Bool>(false)
        f.service.register(.separate) { ctx in
            started.store(true, ordering: .sequentiallyConsistent)
            while !ctx.isCancelled { Thread.sleep(forTimeInterval: 0.002) }
            sawCancel.store(true, ordering: .sequentiallyConsistent)
            try ctx.checkCancelled()
            return .string("should be dropped")
        }
        try f.service.start()
        // No render handler: it stays queued until cancelled.
        let queued = try f.service.submit(TaskSpec(kind: .render))
        let dependent = try f.service.submit(TaskSpec(kind: .playlist, dependsOn: [queued.id]))
        let c = try f.service.cancel(id: queued.id)
        #expect(c.state == .cancelled)
        #expect(try f.service.task(id: dependent.id).error == "dependency \(queued.id) failed")
        #expect(throws: DJCoreError.conflict("task \(queued.id) has already finished (cancelled); nothing to cancel")) {
            try f.service.cancel(id: queued.id)
        }
        #expect(throws: DJCoreError.notFound("task 9999 does not exist")) { try f.service.cancel(id: 9999) }

        let running = try f.service.submit(TaskSpec(kind: .separate))
        try teamWait("the handler to start") { started.load(ordering: .sequentiallyConsistent) }
        let marked = try f.service.cancel(id: running.id)
        #expect(marked.state == .running && marked.cancelRequested)
        let done = try f.waitFor(running.id, [.cancelled, .failed, .retryWait, .succeeded])
        #expect(done.state == .cancelled)
        #expect(done.result == nil)
        let handlerSawCancel = sawCancel.load(ordering: .sequentiallyConsistent)
        #expect(handlerSawCancel)
        #expect(done.history.map(\.type) == [.submitted, .started, .cancelRequested, .cancelled])
    }

    @Test func a_time_out_fails_the_attempt_cancels_the_context_and_drops_the_late_result() throws {
        let f = try TeamFixture()
        let returned = Atomic<Int>(0)
        f.service.register(.render) { ctx in
            while !ctx.isCancelled { Thread.sleep(forTimeInterval: 0.002) }
            returned.add(1, ordering: .sequentiallyConsistent)
            return .string("late")
        }
        try f.service.start()
        let t = try f.service.submit(TaskSpec(kind: .render, timeout: 0.1, maxAttempts: 2))
        let done = try f.waitFor(t.id, [.deadLettered, .succeeded, .failed])
        #expect(done.state == .deadLettered)
        #expect(done.result == nil)
        #expect(done.attempts == 2)
        let timeouts = done.history.filter { $0.type == .timedOut }
        #expect(timeouts.map(\.message) == ["attempt 1 timed out after 0.10 s", "attempt 2 timed out after 0.10 s"])
        try teamWait("both handlers to return") { returned.load(ordering: .sequentiallyConsistent) == 2 }
        #expect(try f.service.task(id: t.id).state == .deadLettered)
    }

    @Test func a_per_kind_limit_is_never_exceeded_and_can_change_at_run_time() throws {
        let f = try TeamFixture(workers: 3, limits: [.separate: 1])
        let now = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let analysePeak = Atomic<Int>(0)
        let analyseNow = Atomic<Int>(0)
        f.service.register(.separate) { _ in
            let n = now.add(1, ordering: .sequentiallyConsistent).newValue
            _ = peak.max(n, ordering: .sequentiallyConsistent)
            Thread.sleep(forTimeInterval: 0.01)
            now.subtract(1, ordering: .sequentiallyConsistent)
            return .null
        }
        f.service.register(.analyse) { _ in
            let n = analyseNow.add(1, ordering: .sequentiallyConsistent).newValue
            _ = analysePeak.max(n, ordering: .sequentiallyConsistent)
            Thread.sleep(forTimeInterval: 0.03)
            analyseNow.subtract(1, ordering: .sequentiallyConsistent)
            return .null
        }
        let ids = try (0..<6).map { _ in try f.service.submit(TaskSpec(kind: .separate)).id }
        let analyses = try (0..<2).map { _ in try f.service.submit(TaskSpec(kind: .analyse)).id }
        try f.service.start()
        for id in ids + analyses { _ = try f.waitFor(id, [.succeeded]) }
        #expect(peak.load(ordering: .sequentiallyConsistent) == 1)
        // The other workers were free for another kind meanwhile.
        #expect(analysePeak.load(ordering: .sequentiallyConsistent) == 2)
        let r = try f.service.resources()
        #expect(r.limits == [.separate: 1])
        #expect(r.kinds.first { $0.kind == .separate }?.limit == 1)

        try f.service.setLimits([.separate: 2])
        let more = try (0..<8).map { _ in try f.service.submit(TaskSpec(kind: .separate)).id }
        for id in more { _ = try f.waitFor(id, [.succeeded]) }
        #expect(peak.load(ordering: .sequentiallyConsistent) <= 2)
        #expect(throws: DJCoreError.invalidArgument("limits.separate: -1 is out of range (0...256)")) {
            try f.service.setLimits([.separate: -1])
        }
    }

    @Test func the_breaker_opens_after_n_failures_and_half_opens_after_the_cool_down() throws {
        let clock = ManualTeamClock()
        let f = try TeamFixture(workers: 1, clock: clock, breaker: BreakerSettings(failureThreshold: 2, coolDown: 10))
        let succeed = Atomic<Bool>(false)
        let calls = Atomic<Int>(0)
        f.service.register(.render) { _ in
            calls.add(1, ordering: .sequentiallyConsistent)
            if succeed.load(ordering: .sequentiallyConsistent) { return .string("ok") }
            throw TeamTestFailure(description: "renderer crashed")
        }
        try f.service.start()
        let a = try f.service.submit(TaskSpec(kind: .render, maxAttempts: 1))
        let b = try f.service.submit(TaskSpec(kind: .render, maxAttempts: 1))
        _ = try f.waitFor(a.id, [.deadLettered])
        _ = try f.waitFor(b.id, [.deadLettered])
        let c = try f.service.submit(TaskSpec(kind: .render, maxAttempts: 1))
        func breaker() throws -> BreakerStatus { try #require(try f.service.state().breakers.first { $0.kind == .render }) }
        #expect(try breaker().state == .open)
        #expect(try breaker().consecutiveFailures == 2)
        #expect(try breaker().retryAt == clock.now.addingTimeInterval(10))
        #expect(f.service.health().reasons.contains { $0.hasPrefix("the render breaker is open after 2 consecutive failures") })
        // Workers look several times (poll 0.05 s) without taking it.
        Thread.sleep(forTimeInterval: 0.2)
        #expect(try f.service.task(id: c.id).state == .queued)
        #expect(calls.load(ordering: .sequentiallyConsistent) == 2)

        // After the cool-down one trial runs; it fails, so the breaker opens again.
        clock.advance(by: 10)
        _ = try f.waitFor(c.id, [.deadLettered])
        #expect(try breaker().state == .open)
        let d = try f.service.submit(TaskSpec(kind: .render, maxAttempts: 1))
        clock.advance(by: 5)
        Thread.sleep(forTimeInterval: 0.15)
        #expect(try f.service.task(id: d.id).state == .queued)

        // Next trial succeeds: closed again, and the queue flows.
        succeed.store(true, ordering: .sequentiallyConsistent)
        clock.advance(by: 5)
        _ = try f.waitFor(d.id, [.succeeded])
        #expect(try breaker().state == .closed)
        #expect(try breaker().consecutiveFailures == 0)
        let e = try f.service.submit(TaskSpec(kind: .render))
        _ = try f.waitFor(e.id, [.succeeded])
    }

    @Test func after_a_crash_a_task_left_running_is_requeued_once_and_runs_exactly_once() throws {
        let tmp = try TeamTempDB()
        let t0 = Date()
        // A "process" that claimed a task and died (kill -9): the store still says running.
        let crashedID: Int, doneID: Int, waitingID: Int
        do {
            let store = try SQLiteTaskStore(path: tmp.path)
            let ids = try store.insert([teamInsert(.analyse), teamInsert(.effect), teamInsert(.render)], workflowName: nil, now: t0)
                .tasks.map(\.id)
            (crashedID, doneID, waitingID) = (ids[0], ids[1], ids[2])
            _ = try #require(try store.claim(kinds: [.effect], worker: "dead/w1", now: t0, leaseUntil: t0 + 30))
            _ = try store.finish(id: doneID, worker: "dead/w1", attempt: 1, outcome: .succeeded(.null), runSeconds: 0, now: t0)
            _ = try #require(try store.claim(kinds: [.render], worker: "dead/w1", now: t0, leaseUntil: t0 + 30))
            _ = try store.finish(id: waitingID, worker: "dead/w1", attempt: 1,
                                 outcome: .failed(error: "x", then: .retry(after: 3600), timedOut: false), runSeconds: 0, now: t0)
            _ = try #require(try store.claim(kinds: [.analyse], worker: "dead/w1", now: t0, leaseUntil: t0 + 30))
        }
        let f = try TeamFixture(tmp: tmp)
        let runs = Mutex<[Int]>([])
        for kind in TaskKind.allCases {
            f.service.register(kind) { ctx in runs.withLock { $0.append(ctx.taskID) }; return .null }
        }
        try f.service.start()
        let t = try f.waitFor(crashedID, [.succeeded])
        #expect(t.attempts == 1) // the interrupted attempt is not counted
        #expect(t.history.map(\.type) == [.submitted, .started, .requeued, .started, .succeeded])
        #expect(t.history[2].message == "requeued after restart (attempt 1 on dead/w1 was interrupted and is not counted)")
        Thread.sleep(forTimeInterval: 0.1)
        #expect(runs.withLock { $0 } == [crashedID]) // the succeeded one is not re-run; the waiting one keeps its time
        let w = try f.service.task(id: waitingID)
        #expect(w.state == .retryWait)
        #expect(abs(w.notBefore!.timeIntervalSince(t0) - 3600) < 0.01)
    }

    @Test func shutdown_parks_a_running_task_and_the_next_start_runs_it_once() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let release = Atomic<Bool>(false)
        let started = Atomic<Int>(0)
        let id: Int
        do {
            let store = try SQLiteTaskStore(path: tmp.path)
            let first = try TeamService(store: store, configuration: TeamConfiguration(workers: 1, pollInterval: 0.05, instanceID: "first"))
            first.register(.separate) { ctx in
                started.add(1, ordering: .sequentiallyConsistent)
                while !release.load(ordering: .sequentiallyConsistent) && !ctx.isCancelled { Thread.sleep(forTimeInterval: 0.002) }
                return .string("first")
            }
            try first.start()
            id = try first.submit(TaskSpec(kind: .separate)).id
            try teamWait("the handler to start") { started.load(ordering: .sequentiallyConsistent) == 1 }
            #expect(first.shutdown(timeout: 0.05) == [id])
            let parked = try #require(try store.task(id: id, history: true))
            #expect(parked.state == .running)
            #expect(parked.history.last?.type == .parked)
            release.store(true, ordering: .sequentiallyConsistent)
        }
        let store = try SQLiteTaskStore(path: tmp.path)
        let second = try TeamService(store: store, configuration: TeamConfiguration(workers: 1, pollInterval: 0.05, instanceID: "second"))
        second.register(.separate) { _ in .string("second") }
        try second.start()
        defer { second.shutdown(timeout: 1) }
        try teamWait("the parked task to finish") { try second.task(id: id).state == .succeeded }
        let t = try second.task(id: id)
        #expect(t.result == .string("second"))
        #expect(t.attempts == 1)
        #expect(t.history.filter { $0.type == .requeued }.count == 1)
        #expect(t.history.filter { $0.type == .succeeded }.count == 1)
    }

    @Test func subscribers_get_every_event_in_order_and_nothing_after_unsubscribing() throws {
        let f = try TeamFixture()
        f.service.register(.analyse) { ctx in
            ctx.progress(0.5, "half way")
            return .null
        }
        let seen = Mutex<[TaskEventRecord]>([])
        let token = f.service.subscribe { e in seen.withLock { $0.append(e) } }
        try f.service.start()
        let t = try f.service.submit(TaskSpec(kind: .analyse))
        _ = try f.waitFor(t.id, [.succeeded])
        // the store commits before the event is handed to the subscribers: wait for it, then flush
        try teamWait("the succeeded event") { seen.withLock { $0.contains { $0.taskID == t.id && $0.type == .succeeded } } }
        f.service.flushEvents()
        let events = seen.withLock { $0 }.filter { $0.taskID == t.id }
        #expect(events.map(\.type) == [.submitted, .started, .progress, .succeeded])
        #expect(events.first { $0.type == .progress }?.progress == 0.5)
        #expect(events.first { $0.type == .progress }?.message == "half way")
        // Stored events come out in history order with the same ids.
        let stored = events.filter { $0.type != .progress }
        #expect(stored.map(\.id) == (try f.service.task(id: t.id)).history.map(\.id))

        f.service.unsubscribe(token)
        let u = try f.service.submit(TaskSpec(kind: .analyse))
        _ = try f.waitFor(u.id, [.succeeded])
        f.service.flushEvents()
        #expect(!seen.withLock { $0 }.contains { $0.taskID == u.id })
    }

    @Test func a_kind_without_a_handler_stays_queued_and_resources_and_health_say_so() throws {
        let f = try TeamFixture()
        try f.service.start()
        let t = try f.service.submit(TaskSpec(kind: .effect))
        Thread.sleep(forTimeInterval: 0.1)
        #expect(try f.service.task(id: t.id).state == .queued)
        let r = try f.service.resources()
        #expect(r.kindsWithoutHandler == [.effect])
        #expect(r.kinds.first { $0.kind == .effect }?.queued == 1)
        #expect(r.kinds.first { $0.kind == .effect }?.hasHandler == false)
        #expect(r.workers == 2)
        #expect(f.service.health().status == .degraded)
        #expect(f.service.health().reasons.contains("1 effect tasks are queued but no handler is registered for effect"))
        f.service.register(.effect) { _ in .number(1) }
        _ = try f.waitFor(t.id, [.succeeded])
        #expect(f.service.health().status == .ok)
    }

    @Test func progress_is_stored_on_the_task_while_it_runs() throws {
        let f = try TeamFixture()
        let go = Atomic<Bool>(false)
        f.service.register(.render) { ctx in
            ctx.progress(0.25, "mixing")
            while !go.load(ordering: .sequentiallyConsistent) { Thread.sleep(forTimeInterval: 0.002) }
            return .null
        }
        try f.service.start()
        let t = try f.service.submit(TaskSpec(kind: .render))
        try teamWait("progress to be stored") { try f.service.task(id: t.id).progress == 0.25 }
        #expect(try f.service.task(id: t.id).progressMessage == "mixing")
        let busy = try f.service.resources()
        #expect(busy.busy == 1 && busy.kinds.first { $0.kind == .render }?.running == 1)
        go.store(true, ordering: .sequentiallyConsistent)
        #expect(try f.waitFor(t.id, [.succeeded]).progress == 1)
    }

    @Test func task_json_is_camel_case_and_round_trips() throws {
        let spec = try JSONDecoder().decode(TaskSpec.self, from: Data(#"{"kind":"separate","payload":{"path":"/a.wav"},"dependsOn":[3],"backoffBase":0.5}"#.utf8))
        #expect(spec == TaskSpec(kind: .separate, payload: .object(["path": .string("/a.wav")]), dependsOn: [3], backoffBase: 0.5))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(TaskSpec.self, from: Data(#"{"kind":"dance"}"#.utf8)) }
        #expect(throws: DJCoreError.invalidArgument("kind: \"dance\" is not a task kind (one of playlist, analyse, separate, effect, render)")) {
            try TaskKind(parsing: "dance")
        }
        let f = try TeamFixture()
        let t = try f.service.submit(TaskSpec(kind: .render, priority: 3))
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(try f.service.task(id: t.id))) as? [String: Any]
        let keys = Set(json?.keys.map { $0 } ?? [])
        #expect(keys.isSuperset(of: ["id", "kind", "state", "priority", "payload", "dependsOn", "attempts", "retry",
                                     "cancelRequested", "submittedAt", "history"]))
        #expect(json?["state"] as? String == "queued")
        let back = try JSONDecoder().decode(TeamTask.self, from: JSONEncoder().encode(try f.service.task(id: t.id)))
        #expect(back == (try f.service.task(id: t.id)))
    }
}
