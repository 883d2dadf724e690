import DJCore
import Foundation
import Logging
import Testing

/// The README's Team Service example, kept compiling and running.
@Suite("README Team example")
struct TeamReadmeExampleTests {
    @Test func the_team_example_analyses_a_file_in_a_task() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 12 s of clicks at 120 BPM
        var clicks = [Float](repeating: 0, count: 48000 * 12 * 2)
        for beat in 0..<24 {
            for k in 0..<480 { clicks[(beat * 24000 + k) * 2] = Float(0.8 * exp(-Double(k) / 60)); clicks[(beat * 24000 + k) * 2 + 1] = clicks[(beat * 24000 + k) * 2] }
        }
        let audio = dir.appendingPathComponent("a.flac").path
        try TestAudio.write(clicks, to: audio, rate: 48000, format: .flac16)
        let dbPath = dir.appendingPathComponent("tasks.sqlite").path

        // --- as in the README (paths replaced) ---
        let store = try SQLiteTaskStore(path: dbPath)
        let team = try TeamService(store: store, logger: Logger(label: "team"))
        team.register(.analyse) { ctx in
            guard case let .object(o) = ctx.payload, case let .string(path)? = o["path"] else {
                throw DJCoreError.invalidArgument("the payload needs a path")   // not retried
            }
            let a = try TrackAnalyzer().analyze(path: path) { ctx.progress($0, "analysing") }   // other errors: retried
            try ctx.checkCancelled()
            return ["bpm": a.bpm.map { .number($0) } ?? .null]
        }
        try team.start()
        let task = try team.submit(TaskSpec(kind: .analyse, payload: ["path": .string(audio)], maxAttempts: 5))
        print(try team.task(id: task.id).state)   // queued, running, succeeded ...
        // ---
        let deadline = Date().addingTimeInterval(60)
        while try team.task(id: task.id).state != .succeeded && Date() < deadline { usleep(20_000) }
        let done = try team.task(id: task.id)
        _ = team.shutdown(timeout: 5)
        #expect(done.state == .succeeded, "\(done.error ?? "")")
        guard case let .object(r)? = done.result, case let .number(bpm)? = r["bpm"] else {
            Issue.record("no bpm in \(String(describing: done.result))")
            return
        }
        #expect(abs(bpm - 120) < 0.1)
    }
}
