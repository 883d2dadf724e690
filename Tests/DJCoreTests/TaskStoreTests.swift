import DJCore
import Foundation
import Synchronization
import Testing

/// A fresh SQLite file in its own temporary directory (removed with the returned closure's caller's
/// directory at process exit is not guaranteed: tests remove it themselves).
struct TeamTempDB {
    let directory: URL
    var path: String { directory.appendingPathComponent("state.sqlite").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("djcore-team-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

func teamInsert(_ kind: TaskKind, priority: Int = 0, deps: [Int] = [], batch: [Int] = [], step: String? = nil,
                maxAttempts: Int = 3) -> TaskInsert {
    TaskInsert(kind: kind, payload: .object([:]), priority: priority,
               retry: RetryPolicy(maxAttempts: maxAttempts, baseDelay: 1, maxDelay: 60, jitter: 0), timeout: nil,
               dependsOnIDs: deps, dependsOnBatch: batch, stepName: step)
}

@Suite("Team task store")
struct TeamTaskStoreTests {
    let t0 = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func team_tables_keep_their_own_schema_version_and_leave_user_version_alone() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let store = try SQLiteTaskStore(path: tmp.path)
        #expect(try store.schemaVersion() == 1)
        #expect(try store.database.userVersion() == 0)
        let tables = try store.database.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'team_%' ORDER BY name")
            .compactMap { $0[0].string }
        #expect(tables == ["team_deps", "team_schema", "team_task_events", "team_tasks", "team_workflows"])
        // Opening again does not migrate again (a second CREATE TABLE would throw).
        let again = try SQLiteTaskStore(path: tmp.path)
        #expect(try again.schemaVersion() == 1)
    }

    @Test func two_connections_claiming_at_once_never_get_the_same_task() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let a = try SQLiteTaskStore(path: tmp.path)
        let b = try SQLiteTaskStore(path: tmp.path) // a second connection: another process would do the same
        _ = try a.insert((0..<120).map { _ in teamInsert(.analyse) }, workflowName: nil, now: t0)
        let claimed = Mutex<[Int]>([])
        let errors = Mutex<[String]>([])
        let t0 = self.t0
        let group = DispatchGroup()
        for i in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                let store = i % 2 == 0 ? a : b
                while true {
                    do {
                        guard let (task, _) = try store.claim(kinds: [.analyse], worker: "w\(i)", now: t0, leaseUntil: t0 + 30) else { break }
                        claimed.withLock { $0.append(task.id) }
                    } catch {
                        errors.withLock { $0.append("\(error)") }
                        break
                    }
                }
            }
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        #expect(errors.withLock { $0 } == [])
        let ids = claimed.withLock { $0 }
        #expect(ids.count == 120)
        #expect(Set(ids).count == 120)
    }

    @Test func a_late_finish_for_an_attempt_that_is_no_longer_running_is_dropped() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let store = try SQLiteTaskStore(path: tmp.path)
        let id = try store.insert([teamInsert(.render)], workflowName: nil, now: t0).tasks[0].id
        let (task, _) = try #require(try store.claim(kinds: [.render], worker: "w1", now: t0, leaseUntil: t0 + 30))
        #expect(task.attempts == 1)
        #expect(try store.finish(id: id, worker: "w2", attempt: 1, outcome: .succeeded(.null), runSeconds: 1, now: t0) == nil)
        #expect(try store.finish(id: id, worker: "w1", attempt: 2, outcome: .succeeded(.null), runSeconds: 1, now: t0) == nil)
        #expect(try store.finish(id: id, worker: "w1", attempt: 1, outcome: .succeeded(.string("ok")), runSeconds: 1, now: t0) != nil)
        // Once committed, a second result for the same attempt changes nothing.
        #expect(try store.finish(id: id, worker: "w1", attempt: 1, outcome: .succeeded(.string("again")), runSeconds: 1, now: t0) == nil)
        #expect(try store.task(id: id, history: false)?.result == .string("ok"))
    }

    @Test func recovery_requeues_running_without_counting_the_attempt_and_leaves_the_rest() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let store = try SQLiteTaskStore(path: tmp.path)
        let ids = try store.insert([teamInsert(.analyse), teamInsert(.render), teamInsert(.effect)], workflowName: nil, now: t0).tasks.map(\.id)
        let (running, _) = try #require(try store.claim(kinds: [.analyse], worker: "dead/w1", now: t0, leaseUntil: t0 + 30))
        let (waiting, _) = try #require(try store.claim(kinds: [.render], worker: "dead/w1", now: t0, leaseUntil: t0 + 30))
        _ = try store.finish(id: waiting.id, worker: "dead/w1", attempt: 1,
                             outcome: .failed(error: "boom", then: .retry(after: 3600), timedOut: false), runSeconds: 1, now: t0)
        let (done, _) = try #require(try store.claim(kinds: [.effect], worker: "dead/w1", now: t0, leaseUntil: t0 + 30))
        _ = try store.finish(id: done.id, worker: "dead/w1", attempt: 1, outcome: .succeeded(.bool(true)), runSeconds: 1, now: t0)

        let events = try store.recoverRunning(now: t0 + 5, expiredOnly: false, reason: "after restart")
        #expect(events.map(\.taskID) == [ids[0]])
        #expect(events.first?.type == .requeued)
        #expect(events.first?.message.hasPrefix("requeued after restart") == true)
        let r = try #require(try store.task(id: running.id, history: true))
        #expect(r.state == .queued)
        #expect(r.attempts == 0)
        let w = try #require(try store.task(id: waiting.id, history: false))
        #expect(w.state == .retryWait)
        #expect(w.notBefore == t0 + 3600)
        #expect(try store.task(id: done.id, history: false)?.state == .succeeded)
        // Nothing is left to recover: recovery is idempotent.
        #expect(try store.recoverRunning(now: t0 + 6, expiredOnly: false, reason: "after restart").isEmpty)
    }

    @Test func expired_only_recovery_leaves_live_leases_alone() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let store = try SQLiteTaskStore(path: tmp.path)
        _ = try store.insert([teamInsert(.analyse), teamInsert(.analyse)], workflowName: nil, now: t0)
        let (a, _) = try #require(try store.claim(kinds: [.analyse], worker: "p1/w1", now: t0, leaseUntil: t0 + 10))
        let (b, _) = try #require(try store.claim(kinds: [.analyse], worker: "p2/w1", now: t0, leaseUntil: t0 + 100))
        let events = try store.recoverRunning(now: t0 + 50, expiredOnly: true, reason: "after its worker's lease ran out")
        #expect(events.map(\.taskID) == [a.id])
        #expect(try store.task(id: b.id, history: false)?.state == .running)
    }

    @Test func a_failed_task_fails_its_dependents_transitively_and_retry_brings_them_back() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let store = try SQLiteTaskStore(path: tmp.path)
        let tasks = try store.insert([teamInsert(.analyse, step: "a"), teamInsert(.separate, batch: [0], step: "b"),
                                      teamInsert(.playlist, batch: [1], step: "c")], workflowName: "w", now: t0).tasks
        #expect(tasks.map(\.state) == [.queued, .pending, .pending])
        #expect(tasks[1].dependsOn == [tasks[0].id])
        let (a, _) = try #require(try store.claim(kinds: TaskKind.allCases, worker: "w", now: t0, leaseUntil: t0 + 30))
        #expect(a.id == tasks[0].id) // the only ready one
        _ = try store.finish(id: a.id, worker: "w", attempt: 1, outcome: .failed(error: "bad", then: .permanent, timedOut: false),
                             runSeconds: 0, now: t0)
        let b = try #require(try store.task(id: tasks[1].id, history: false))
        let c = try #require(try store.task(id: tasks[2].id, history: false))
        #expect(b.state == .failed && b.error == "dependency \(a.id) failed")
        #expect(c.state == .failed && c.error == "dependency \(b.id) failed")

        let (retried, events) = try store.retry(id: a.id, now: t0 + 1)
        #expect(retried.state == .queued && retried.attempts == 0)
        #expect(Set(events.map(\.taskID)) == Set(tasks.map(\.id)))
        #expect(try store.task(id: c.id, history: false)?.state == .pending)
        // A dependent cannot be retried while its dependency is failed.
        _ = try store.cancel(id: a.id, now: t0 + 2)
        #expect(throws: DJCoreError.conflict("task \(b.id) depends on task \(a.id), which is cancelled; retry that one first")) {
            try store.retry(id: b.id, now: t0 + 3)
        }
    }

    @Test func unknown_dependency_is_refused_and_nothing_is_stored() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let store = try SQLiteTaskStore(path: tmp.path)
        #expect(throws: DJCoreError.invalidArgument("dependsOn: task 999 does not exist")) {
            try store.insert([teamInsert(.analyse), teamInsert(.render, deps: [999])], workflowName: "x", now: t0)
        }
        #expect(try store.list(TaskFilter()).isEmpty)
        #expect(try store.workflows(limit: 10, offset: 0).isEmpty)
    }

    @Test func claim_takes_highest_priority_then_oldest_and_only_given_kinds() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let store = try SQLiteTaskStore(path: tmp.path)
        let ids = try store.insert([teamInsert(.analyse, priority: 1), teamInsert(.analyse, priority: 5),
                                    teamInsert(.render, priority: 9), teamInsert(.analyse, priority: 5)],
                                   workflowName: nil, now: t0).tasks.map(\.id)
        var order: [Int] = []
        while let (t, _) = try store.claim(kinds: [.analyse], worker: "w", now: t0, leaseUntil: t0 + 1) { order.append(t.id) }
        #expect(order == [ids[1], ids[3], ids[0]])
        #expect(try store.task(id: ids[2], history: false)?.state == .queued)
    }
}
