import DJCore
import Foundation
import Synchronization
import Testing

@Suite("Team manager")
struct TeamManagerTests {
    @Test func prepare_track_makes_three_dependent_tasks_and_feeds_earlier_results_forward() throws {
        let f = try TeamFixture(workers: 2)
        let manager = TeamManager(service: f.service)
        let separatePayload = Mutex<JSONValue?>(nil)
        let playlistPayload = Mutex<JSONValue?>(nil)
        f.service.register(.analyse) { ctx in
            guard case let .object(p) = ctx.payload, case let .string(path)? = p["path"] else { throw DJCoreError.invalidArgument("path") }
            return .object(["path": .string(path), "bpm": .number(124), "key": .string("8A")])
        }
        f.service.register(.separate) { ctx in
            separatePayload.withLock { $0 = ctx.payload }
            return .object(["vocals": .string("/stems/v.wav"), "drums": .string("/stems/d.wav")])
        }
        f.service.register(.playlist) { ctx in
            playlistPayload.withLock { $0 = ctx.payload }
            return .object(["position": .number(7)])
        }
        try f.service.start()
        let w = try manager.coordinate(.prepareTrack(path: "/music/a.flac", playlist: .string("friday")))
        #expect(w.name == "prepare-track")
        #expect(Set(w.steps.keys) == ["analyse", "separate", "playlist"])
        let analyse = try f.service.task(id: w.steps["analyse"]!)
        let separate = try f.service.task(id: w.steps["separate"]!)
        let playlist = try f.service.task(id: w.steps["playlist"]!)
        #expect(analyse.kind == .analyse && analyse.dependsOn.isEmpty)
        #expect(separate.kind == .separate && separate.dependsOn == [analyse.id])
        #expect(playlist.kind == .playlist && playlist.dependsOn == [separate.id])
        #expect(playlist.workflowID == w.id && playlist.stepName == "playlist")

        _ = try f.waitFor(playlist.id, [.succeeded, .failed])
        let analysis: JSONValue = .object(["path": .string("/music/a.flac"), "bpm": .number(124), "key": .string("8A")])
        #expect(separatePayload.withLock { $0 } == .object(["path": .string("/music/a.flac"), "analysis": analysis]))
        #expect(playlistPayload.withLock { $0 } == .object([
            "action": .string("add"), "path": .string("/music/a.flac"), "playlist": .string("friday"), "analysis": analysis,
            "stems": .object(["vocals": .string("/stems/v.wav"), "drums": .string("/stems/d.wav")]),
        ]))
        // The stored payload keeps the placeholder; only the handler saw the substitution.
        #expect(try f.service.task(id: separate.id).payload == .object(["path": .string("/music/a.flac"), "analysis": .string("$steps.analyse.result")]))
        let done = try manager.workflow(id: w.id)
        #expect(done.state == .succeeded)
        #expect(done.stepStates == ["analyse": .succeeded, "separate": .succeeded, "playlist": .succeeded])
    }

    @Test func explicit_steps_resolve_a_result_key_and_a_missing_key_fails_without_retry() throws {
        let f = try TeamFixture()
        let manager = TeamManager(service: f.service)
        let seen = Mutex<[JSONValue]>([])
        f.service.register(.analyse) { _ in .object(["file": .string("/tmp/x.wav"), "meta": .object(["bpm": .number(90)])]) }
        f.service.register(.render) { ctx in seen.withLock { $0.append(ctx.payload) }; return .null }
        try f.service.start()
        let w = try manager.coordinate(.steps("custom", [
            TaskStep(name: "a", kind: .analyse),
            TaskStep(name: "r", kind: .render, payload: .object(["in": .string("$steps.a.result.file"),
                                                                 "tempo": .array([.string("$steps.a.result.meta.bpm")])]),
                     dependsOn: ["a"]),
            TaskStep(name: "bad", kind: .render, payload: .object(["in": .string("$steps.a.result.nope")]), dependsOn: ["a"],
                     maxAttempts: 3),
        ]))
        _ = try f.waitFor(w.steps["r"]!, [.succeeded])
        #expect(seen.withLock { $0 } .first == .object(["in": .string("/tmp/x.wav"), "tempo": .array([.number(90)])]))
        let bad = try f.waitFor(w.steps["bad"]!, [.failed, .deadLettered])
        #expect(bad.state == .failed && bad.attempts == 1)
        #expect(bad.error == "payload: \"$steps.a.result.nope\": step a's result has no key \"nope\"")
        #expect(try manager.workflow(id: w.id).state == .failed)
    }

    @Test func a_placeholder_naming_a_step_not_depended_on_or_a_bad_request_is_refused() throws {
        let f = try TeamFixture()
        let manager = TeamManager(service: f.service)
        #expect(throws: DJCoreError.invalidArgument("steps[1].payload: \"$steps.a.result.file\" uses step a, which step b does not depend on")) {
            try manager.coordinate(.steps("x", [TaskStep(name: "a", kind: .analyse),
                                                 TaskStep(name: "b", kind: .render, payload: .object(["f": .string("$steps.a.result.file")]))]))
        }
        #expect(throws: DJCoreError.invalidArgument("steps[0].payload: \"$steps.a.file\" is not a placeholder of the form $steps.<name>.result[.<key>...]")) {
            try manager.coordinate(.steps("x", [TaskStep(name: "a", kind: .analyse, payload: .string("$steps.a.file"))]))
        }
        #expect(throws: DJCoreError.invalidArgument("template: \"dance\" is not a workflow template (one of prepare-track)")) {
            try manager.coordinate(WorkflowRequest(template: "dance"))
        }
        #expect(throws: DJCoreError.invalidArgument("path: the prepare-track template needs the path of a track")) {
            try manager.coordinate(WorkflowRequest(template: "prepare-track"))
        }
        #expect(throws: DJCoreError.notFound("workflow 77 does not exist")) { try manager.workflow(id: 77) }
        #expect(try manager.workflows().isEmpty)
        #expect(try f.service.list().isEmpty)
    }

    @Test func workflows_survive_a_restart() throws {
        let tmp = try TeamTempDB()
        defer { tmp.remove() }
        let id: Int
        do {
            let store = try SQLiteTaskStore(path: tmp.path)
            let service = try TeamService(store: store, configuration: TeamConfiguration(workers: 1, instanceID: "a"))
            id = try TeamManager(service: service).coordinate(.prepareTrack(path: "/b.flac")).id
        }
        let store = try SQLiteTaskStore(path: tmp.path)
        let service = try TeamService(store: store, configuration: TeamConfiguration(workers: 1, instanceID: "b"))
        let manager = TeamManager(service: service)
        let w = try manager.workflow(id: id)
        #expect(w.state == .pending)
        #expect(w.stepStates == ["analyse": .queued, "separate": .pending, "playlist": .pending])
        #expect(try manager.workflows().map(\.id) == [id])
        // Without a playlist the playlist step adds to the live queue: no "playlist" key.
        let add = try service.task(id: w.steps["playlist"]!).payload
        guard case let .object(o) = add else { Issue.record("payload \(add)"); return }
        #expect(o["playlist"] == nil && o["action"] == .string("add"))
    }

    @Test func monitor_balance_and_health_report_what_happened() throws {
        let f = try TeamFixture(workers: 2, limits: [.separate: 1])
        let manager = TeamManager(service: f.service, engineMetrics: {
            .object(["periodRenderSeconds": .number(0.0004), "xruns": .number(0), "commandQueueDepth": .number(1)])
        })
        f.service.register(.analyse) { _ in .null }
        f.service.register(.render) { _ in throw DJCoreError.invalidArgument("mix: empty") }
        try f.service.start()
        let ids = try (0..<4).map { _ in try f.service.submit(TaskSpec(kind: .analyse)).id }
        let bad = try f.service.submit(TaskSpec(kind: .render)).id
        for id in ids { _ = try f.waitFor(id, [.succeeded]) }
        _ = try f.waitFor(bad, [.failed])
        // The monitor's window is kept in memory just after the store commit: wait for it to catch up.
        try teamWait("the monitor to count five finished tasks") { try manager.monitor().latency.count == 5 }
        let m = try manager.monitor()
        #expect(m.counts[.succeeded] == 4 && m.counts[.failed] == 1 && m.counts[.queued] == 0)
        #expect(m.countsByKind[.analyse]?[.succeeded] == 4)
        #expect(m.latency.count == 5)
        #expect(m.latency.p50 <= m.latency.p95 && m.latency.p95 <= m.latency.max && m.latency.max > 0)
        #expect(m.latencyByKind[.analyse]?.count == 4)
        #expect(m.succeeded == 4 && m.failed == 1)
        #expect(m.throughputPerMinute > 0)
        #expect(m.queueDepth == 0 && m.oldestQueuedSeconds == nil)
        #expect(m.engine == .object(["periodRenderSeconds": .number(0.0004), "xruns": .number(0), "commandQueueDepth": .number(1)]))
        #expect(m.breakers.count == TaskKind.allCases.count && m.breakers.allSatisfy { $0.state == .closed })

        let b = try manager.balance()
        #expect(b.workers == 2 && b.policy == .priority && b.limits == [.separate: 1])
        #expect(b.workerStates.count == 2)
        #expect(b.workerStates.map(\.tasksDone).reduce(0, +) == 5)
        #expect(b.kinds.first { $0.kind == .separate }?.limit == 1)

        let grown = try manager.setBalance(BalanceSettings(limits: [.render: 2], workers: 3, policy: .fair))
        #expect(grown.workers == 3 && grown.policy == .fair && grown.limits == [.render: 2])
        try teamWait("a third worker") { try f.service.resources().workers == 3 }
        try manager.setBalance(BalanceSettings(workers: 1))
        try teamWait("the pool to shrink to one") { try f.service.resources().workers == 1 }
        #expect(throws: DJCoreError.invalidArgument("workers: 0 is out of range (1...256)")) {
            try manager.setBalance(BalanceSettings(limits: [.render: 1], workers: 0))
        }
        #expect(try manager.balance().limits == [.render: 2]) // nothing applied from the refused change
        // Work still flows with the fair policy and one worker.
        let after = try f.service.submit(TaskSpec(kind: .analyse)).id
        _ = try f.waitFor(after, [.succeeded])

        let h = manager.health()
        #expect(h.status == .ok, "\(h.reasons)")
        // JSON shapes the daemon serves: camelCase keys, enum raw values, kind-keyed objects.
        let enc = JSONEncoder()
        let mj = try #require(try JSONSerialization.jsonObject(with: enc.encode(m)) as? [String: Any])
        #expect(Set(mj.keys).isSuperset(of: ["counts", "countsByKind", "latency", "latencyByKind", "throughputPerMinute",
                                             "queueDepth", "deadLetters", "breakers", "engine", "windowSeconds"]))
        #expect((mj["counts"] as? [String: Any])?["deadLettered"] as? Int == 0)
        #expect((mj["latency"] as? [String: Any]).map { Set($0.keys) } == ["count", "p50", "p95", "max"])
        let bj = try #require(try JSONSerialization.jsonObject(with: enc.encode(try manager.balance())) as? [String: Any])
        #expect((bj["limits"] as? [String: Any])?["render"] as? Int == 2)
        #expect(bj["policy"] as? String == "fair")
        let hj = try #require(try JSONSerialization.jsonObject(with: enc.encode(h)) as? [String: Any])
        #expect(hj["status"] as? String == "ok")
        let settings = try JSONDecoder().decode(BalanceSettings.self, from: Data(#"{"limits":{"separate":1},"policy":"priority"}"#.utf8))
        #expect(settings == BalanceSettings(limits: [.separate: 1], policy: .priority))
        let request = try JSONDecoder().decode(WorkflowRequest.self, from: Data(#"{"template":"prepare-track","path":"/a.flac"}"#.utf8))
        #expect(request == .prepareTrack(path: "/a.flac"))
        let steps = try JSONDecoder().decode(WorkflowRequest.self, from: Data(
            #"{"name":"n","steps":[{"name":"a","kind":"analyse"},{"name":"b","kind":"render","dependsOn":["a"],"maxAttempts":2}]}"#.utf8))
        #expect(steps.steps == [TaskStep(name: "a", kind: .analyse), TaskStep(name: "b", kind: .render, dependsOn: ["a"], maxAttempts: 2)])
    }
}
