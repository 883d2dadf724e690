import DJCore
import Foundation
import Synchronization
import Testing

private final class EventLog: Sendable {
    private let events = Mutex<[QueueEvent]>([])
    func append(_ e: QueueEvent) { events.withLock { $0.append(e) } }
    var all: [QueueEvent] { events.withLock { $0 } }

    var started: [(entry: Int, deck: Int, frame: UInt64)] {
        all.compactMap { if case let .trackStarted(_, item, deck, frame) = $0 { (item.entryID, deck, frame) } else { nil } }
    }
    var ended: [(entry: Int, frame: UInt64)] {
        all.compactMap { if case let .trackEnded(_, item, _, frame) = $0 { (item.entryID, frame) } else { nil } }
    }
    var skipped: [(index: Int, error: String)] {
        all.compactMap { if case let .itemSkipped(index, _, error) = $0 { (index, error) } else { nil } }
    }
    var finished: [UInt64] { all.compactMap { if case let .queueFinished(f) = $0 { f } else { nil } } }
    var stopped: [UInt64] { all.compactMap { if case let .stopped(f) = $0 { f } else { nil } } }
}

/// An engine rendered period by period with a queue player ticked before every period: the daemon's
/// control loop with a virtual clock. Loads are waited for after each tick, so they take no engine time.
private final class QueueRig {
    static let rate = 48000
    let engine: Engine
    let ctx: RenderContext
    let player: QueuePlayer
    let log = EventLog()
    /// Master output (interleaved stereo) from engine frame 0.
    var master: [Float] = []

    /// `tracks`: in-memory tracks by path; a path not in it fails to load.
    init(tracks: [String: Track], crossfade: Double = 1, period: Int = 256) throws {
        engine = try Engine()
        ctx = try RenderContext(engine: engine, periodFrames: period)
        player = try QueuePlayer(engine: engine, crossfadeSeconds: crossfade) { item in
            guard let t = tracks[item.path] else {
                throw DJCoreError.trackLoad(path: item.path, reason: .notFound, detail: "no such test track")
            }
            return t
        }
        let log = self.log
        player.onEvent = { log.append($0) }
    }

    var frame: UInt64 { engine.frame }
    var latency: Int { engine.latencyFrames }

    func run(seconds: Double) throws {
        let end = engine.frame + UInt64(seconds * Double(QueueRig.rate))
        while engine.frame < end { try step() }
    }

    /// Runs until `done` holds (checked before every period), at most `limit` seconds.
    func run(until done: () -> Bool, limit: Double = 30) throws {
        let end = engine.frame + UInt64(limit * Double(QueueRig.rate))
        while !done() && engine.frame < end { try step() }
    }

    func step() throws {
        try player.tick()
        player.waitForLoads()
        ctx.renderPeriod()
        master.append(contentsOf: ctx.master)
        engine.pollEvents()
    }

    /// Amplitude of a sine at `hz` in the left channel of the master over `count` frames from engine
    /// frame `from` (shifted by the limiter's latency). A single DFT bin: exact for whole cycles.
    func amplitude(_ hz: Double, from: UInt64, count: Int) -> Double {
        let start = Int(from) + latency
        var re = 0.0, im = 0.0
        for i in 0..<count {
            let v = Double(master[2 * (start + i)])
            let ph = 2 * Double.pi * hz * Double(i) / Double(QueueRig.rate)
            re += v * cos(ph)
            im -= v * sin(ph)
        }
        return 2 * (re * re + im * im).squareRoot() / Double(count)
    }

    /// Largest absolute sample of the master from engine frame `from` to the end.
    func peak(from: UInt64) -> Float {
        let start = Int(from) + latency
        guard start * 2 < master.count else { return 0 }
        return master[(2 * start)...].reduce(0) { max($0, abs($1)) }
    }
}

private func sineTrack(_ hz: Double, seconds: Double, amplitude: Float = 0.5, silence: Double = 0) throws -> Track {
    let lead = [Float](repeating: 0, count: Int(silence * Double(QueueRig.rate)) * 2)
    return try Track(interleavedStereo: lead + TestAudio.sine(hz, seconds: seconds, amplitude: amplitude),
                     sampleRate: QueueRig.rate, name: "\(hz) Hz")
}

private func item(_ path: String, entry: Int, analysis: TrackAnalysis? = nil) -> QueueItem {
    QueueItem(entryID: entry, trackID: entry + 100, path: path, title: path, analysis: analysis)
}

/// A minimal analysis with the fields the player uses.
private func analysis(musicStart: Double, musicEnd: Double, gainDB: Double?, duration: Double) throws -> TrackAnalysis {
    let json = """
        {"analyzer": "\(TrackAnalysis.analyzerVersion)", "duration": \(duration), "sampleRate": 48000, "channels": 2,
         "options": {"minBPM": 70, "maxBPM": 180, "targetLUFS": -14, "waveformColumns": 16},
         "bpmCandidates": [], "steadyTempo": false, "beats": [], "downbeats": [], "gridConfidence": 0,
         "keyConfidence": 0, "loudness": {"rangeLU": 0, "targetLUFS": -14, "gainDB": \(gainDB.map { "\($0)" } ?? "null")},
         "musicStart": \(musicStart), "musicEnd": \(musicEnd)}
        """
    return try JSONDecoder().decode(TrackAnalysis.self, from: Data(json.utf8))
}

private let second = UInt64(QueueRig.rate)

@Suite("QueuePlayer")
struct QueuePlayerTests {
    @Test func three_items_play_in_order_with_the_crossfade_completing_at_each_end() throws {
        let rig = try QueueRig(tracks: [
            "a": try sineTrack(300, seconds: 3), "b": try sineTrack(500, seconds: 3), "c": try sineTrack(700, seconds: 3),
        ], crossfade: 1)
        try rig.player.start(items: [item("a", entry: 1), item("b", entry: 2), item("c", entry: 3)])
        #expect(rig.player.status.state == .loading)
        try rig.run(until: { !rig.log.finished.isEmpty })
        #expect(rig.player.status.state == .idle)

        let started = rig.log.started
        #expect(started.map(\.entry) == [1, 2, 3])
        #expect(started.map(\.deck) == [1, 2, 1])
        let s1 = try #require(started.first).frame
        #expect(s1 <= UInt64(0.05 * 48000) + 2 * 256, "first start \(s1)")
        // Each crossfade starts 1 s before the outgoing track's end, so that it completes exactly there.
        #expect(started[1].frame == s1 + 3 * second - second)
        #expect(started[2].frame == started[1].frame + 3 * second - second)
        #expect(rig.log.ended.map(\.entry) == [1, 2, 3])
        #expect(rig.log.ended.map(\.frame) == [s1 + 3 * second, started[1].frame + 3 * second, started[2].frame + 3 * second])
        #expect(rig.log.finished == [started[2].frame + 3 * second])

        // What sounds: only A before the fade, both at -3 dB in its middle (constant power), only B after.
        let s2 = started[1].frame
        let w = 12000  // 250 ms: whole cycles of 300, 500 and 700 Hz
        #expect(abs(rig.amplitude(300, from: s2 - 14400, count: w) - 0.5) < 0.01)
        #expect(rig.amplitude(500, from: s2 - 14400, count: w) < 0.001)
        let centre = s2 + second / 2 - 1200
        #expect(abs(rig.amplitude(300, from: centre, count: 2400) - 0.5 * 0.7071) < 0.02)
        #expect(abs(rig.amplitude(500, from: centre, count: 2400) - 0.5 * 0.7071) < 0.02)
        #expect(rig.amplitude(300, from: s2 + second + 2400, count: w) < 0.001)
        #expect(abs(rig.amplitude(500, from: s2 + second + 2400, count: w) - 0.5) < 0.01)
        // After the list: silence, decks unloaded.
        #expect(rig.peak(from: started[2].frame + 3 * second + 512) == 0)
        #expect(rig.engine.state().decks.prefix(2).allSatisfy { $0.trackID == nil })
    }

    @Test func an_item_that_fails_to_load_is_skipped_and_reported() throws {
        let rig = try QueueRig(tracks: ["a": try sineTrack(300, seconds: 2), "c": try sineTrack(700, seconds: 2)], crossfade: 0.5)
        try rig.player.start(items: [item("missing-first", entry: 9), item("a", entry: 1), item("bad", entry: 2),
                                     item("c", entry: 3)])
        try rig.run(until: { !rig.log.finished.isEmpty })
        #expect(rig.log.started.map(\.entry) == [1, 3])
        #expect(rig.log.skipped.map(\.index) == [0, 2])
        #expect(rig.log.skipped.last?.error.contains("bad") == true)
        let errors = rig.player.status.errors
        #expect(errors.count == 2)
        #expect(errors.last?.contains("bad") == true && errors.last?.contains("entry 2") == true, "\(errors)")
        // The failure cost no time: c still crossfades in half a second before a ends.
        let started = rig.log.started
        #expect(started[1].frame == started[0].frame + 2 * second - second / 2)
    }

    @Test func nothing_loadable_ends_idle_with_every_error() throws {
        let rig = try QueueRig(tracks: [:])
        try rig.player.start(items: [item("x", entry: 1), item("y", entry: 2)])
        try rig.run(until: { !rig.log.finished.isEmpty }, limit: 1)
        #expect(rig.player.status.state == .idle)
        #expect(rig.player.status.errors.count == 2)
        #expect(rig.log.started.isEmpty)
    }

    @Test func stop_fades_out_within_the_fade_and_a_period_and_ends_idle() throws {
        let rig = try QueueRig(tracks: ["a": try sineTrack(300, seconds: 5), "b": try sineTrack(500, seconds: 5)])
        try rig.player.start(items: [item("a", entry: 1), item("b", entry: 2)])
        try rig.run(seconds: 1)
        #expect(rig.player.status.state == .playing)
        let t = rig.frame
        try rig.player.stop(fadeSeconds: 0.2)
        #expect(rig.player.status.state == .stopping)
        try rig.run(seconds: 0.6)
        // Full level before the stop, half way down in the middle of the fade, silence after fade + one period.
        #expect(abs(rig.amplitude(300, from: t - 12000, count: 12000) - 0.5) < 0.01)
        let mid = rig.amplitude(300, from: t + 256 + 4800 - 1200, count: 2400)
        #expect(mid > 0.15 && mid < 0.35, "\(mid)")
        #expect(rig.peak(from: t + UInt64(0.2 * 48000) + 256) == 0)
        #expect(rig.player.status.state == .idle)
        #expect(rig.log.stopped.count == 1)
        #expect(rig.log.ended.map(\.entry) == [1])
        #expect(rig.log.started.map(\.entry) == [1])
        #expect(rig.engine.state().decks.prefix(2).allSatisfy { $0.trackID == nil && !$0.playing })
        // Stopping again, or when idle, does nothing; a new start plays again.
        try rig.player.stop()
        try rig.player.start(items: [item("b", entry: 2)])
        try rig.run(seconds: 0.5)
        #expect(rig.player.status.current?.entryID == 2)
        #expect(rig.amplitude(500, from: rig.frame - 13000, count: 12000) > 0.45)
    }

    @Test func start_while_playing_replaces_the_queue_after_a_short_fade() throws {
        let rig = try QueueRig(tracks: ["a": try sineTrack(300, seconds: 5), "b": try sineTrack(500, seconds: 5),
                                        "c": try sineTrack(700, seconds: 5)])
        try rig.player.start(items: [item("a", entry: 1), item("b", entry: 2)])
        try rig.run(seconds: 1)
        let t = rig.frame
        try rig.player.start(items: [item("c", entry: 3)])
        try rig.run(seconds: 1)
        #expect(rig.log.started.map(\.entry) == [1, 3])
        #expect(rig.log.ended.map(\.entry) == [1])
        #expect(rig.log.stopped.count == 1)
        let c = rig.log.started[1].frame
        #expect(c > t && c <= t + UInt64(0.1 * 48000) + 256, "c started at \(c), start called at \(t)")
        #expect(rig.amplitude(700, from: rig.frame - 13000, count: 12000) > 0.49)
        #expect(rig.amplitude(300, from: rig.frame - 13000, count: 12000) < 0.001)
        #expect(rig.player.status.current?.entryID == 3 && rig.player.status.next == nil)
    }

    @Test func stop_during_a_scheduled_transition_silences_the_incoming_deck_too() throws {
        let rig = try QueueRig(tracks: ["a": try sineTrack(300, seconds: 2), "b": try sineTrack(500, seconds: 2)], crossfade: 1)
        try rig.player.start(items: [item("a", entry: 1), item("b", entry: 2)])
        // b's commands are sent half a second before its start, 1 s before a's end: stop just after that.
        try rig.run(until: { rig.player.status.next != nil && rig.frame > 2400 + 48000 / 2 + 2000 })
        let t = rig.frame
        try rig.player.stop(fadeSeconds: 0.1)
        try rig.run(seconds: 1.5)
        #expect(rig.peak(from: t + UInt64(0.1 * 48000) + 256) == 0)
        #expect(rig.player.status.state == .idle)
    }

    @Test func skip_crossfades_into_the_next_item_at_once() throws {
        let rig = try QueueRig(tracks: [
            "a": try sineTrack(300, seconds: 4), "b": try sineTrack(500, seconds: 4), "c": try sineTrack(700, seconds: 4),
        ], crossfade: 1)
        try rig.player.start(items: [item("a", entry: 1), item("b", entry: 2), item("c", entry: 3)])
        try rig.run(seconds: 0.5)
        let t = rig.frame
        try rig.player.skip()
        try rig.run(seconds: 1.3)
        let started = rig.log.started
        #expect(started.map(\.entry) == [1, 2])
        #expect(started[1].frame >= t && started[1].frame <= t + UInt64(0.05 * 48000) + 256, "b started at \(started[1].frame), skip at \(t)")
        #expect(rig.log.ended.first?.entry == 1 && rig.log.ended.first?.frame == started[1].frame + second)
        let status = rig.player.status
        #expect(status.current?.entryID == 2 && status.index == 1 && status.next?.entryID == 3 && status.deck == 2)
        #expect(rig.amplitude(500, from: rig.frame - 13000, count: 12000) > 0.49)
        #expect(rig.amplitude(300, from: rig.frame - 13000, count: 12000) < 0.001)
        // Skipping the last item stops the queue.
        try rig.player.skip()
        try rig.run(seconds: 0.2)
        try rig.player.skip()
        try rig.run(until: { rig.player.status.state == .idle }, limit: 3)
        #expect(rig.log.started.map(\.entry) == [1, 2, 3])
        #expect(rig.player.status.state == .idle)
    }

    @Test func update_keeps_the_current_entry_and_follows_the_new_order() throws {
        let rig = try QueueRig(tracks: [
            "a": try sineTrack(300, seconds: 2), "b": try sineTrack(500, seconds: 2), "c": try sineTrack(700, seconds: 2),
            "x": try sineTrack(900, seconds: 2),
        ], crossfade: 0.5)
        try rig.player.start(items: [item("a", entry: 1), item("b", entry: 2), item("c", entry: 3)])
        try rig.run(seconds: 0.5)
        #expect(rig.player.status.next?.entryID == 2)  // b is loaded by now
        // b removed, x put in front, c moved after a: a keeps playing, then c, then nothing.
        rig.player.update(items: [item("x", entry: 4), item("a", entry: 1), item("c", entry: 3)])
        let s = rig.player.status
        #expect(s.current?.entryID == 1 && s.index == 1 && s.next?.entryID == 3 && s.state == .playing)
        try rig.run(until: { !rig.log.finished.isEmpty })
        #expect(rig.log.started.map(\.entry) == [1, 3])
        // Playback was not disturbed: c started where it would have without the edit.
        #expect(rig.log.started[1].frame == rig.log.started[0].frame + 2 * second - second / 2)
    }

    @Test func update_that_removes_the_current_entry_continues_with_its_follower() throws {
        let rig = try QueueRig(tracks: [
            "a": try sineTrack(300, seconds: 2), "b": try sineTrack(500, seconds: 2), "c": try sineTrack(700, seconds: 2),
        ], crossfade: 0.5)
        try rig.player.start(items: [item("a", entry: 1), item("b", entry: 2), item("c", entry: 3)])
        try rig.run(seconds: 0.5)
        rig.player.update(items: [item("c", entry: 3), item("b", entry: 2)])
        let s = rig.player.status
        #expect(s.current?.entryID == 1 && s.index == nil && s.next?.entryID == 2)
        try rig.run(until: { !rig.log.finished.isEmpty })
        #expect(rig.log.started.map(\.entry) == [1, 2])
        // An update while idle only replaces the list.
        rig.player.update(items: [item("a", entry: 1)])
        #expect(rig.player.status.state == .idle)
    }

    @Test func analysis_sets_start_position_trim_and_where_the_fade_completes() throws {
        // a: 0.5 s of silence, then 3 s of tone of which 2.5 s count as music; b: 3 s of tone.
        let a = try sineTrack(300, seconds: 3, amplitude: 0.1, silence: 0.5)
        let b = try sineTrack(500, seconds: 3, amplitude: 0.1)
        let rig = try QueueRig(tracks: ["a": a, "b": b], crossfade: 1)
        try rig.player.start(items: [
            item("a", entry: 1, analysis: try analysis(musicStart: 0.5, musicEnd: 3.0, gainDB: 20, duration: 3.5)),
            item("b", entry: 2, analysis: try analysis(musicStart: 0, musicEnd: 3, gainDB: -3, duration: 3)),
        ])
        try rig.run(seconds: 0.5)
        let s1 = try #require(rig.log.started.first).frame
        let deck = rig.engine.state().decks[0]
        #expect(deck.position == 0.5 * 48000 + Double(rig.frame - s1))
        #expect(abs(deck.trimDb - 12) < 0.01, "gain +20 dB is clamped to +12 dB: \(deck.trimDb)")
        let status = rig.player.status
        #expect(abs((status.position ?? 0) - (0.5 + Double(rig.frame - s1) / 48000)) < 1e-9)
        #expect(status.duration == 3.5 && status.startedAtFrame == s1)
        // The tone starts at once (no leading silence): amplitude 0.1 raised by 12 dB.
        #expect(abs(rig.amplitude(300, from: s1 + 2400, count: 12000) - 0.1 * pow(10, 12.0 / 20)) < 0.01)
        try rig.run(until: { !rig.log.finished.isEmpty })
        // The fade into b completes at a's musicEnd (2.5 s after its start), 0.5 s before its file ends.
        let started = rig.log.started
        #expect(started[1].frame == s1 + UInt64(2.5 * 48000) - second)
        #expect(rig.log.ended.first?.frame == s1 + UInt64(2.5 * 48000))
        #expect(rig.log.finished == [started[1].frame + 3 * second])
    }

    @Test func trim_without_analysis_is_zero_and_negative_gain_is_applied() throws {
        let rig = try QueueRig(tracks: ["a": try sineTrack(300, seconds: 1), "b": try sineTrack(500, seconds: 3)], crossfade: 0.2)
        try rig.player.start(items: [
            item("a", entry: 1),
            item("b", entry: 2, analysis: try analysis(musicStart: 0, musicEnd: 3, gainDB: -7.5, duration: 3)),
        ])
        try rig.run(seconds: 0.3)
        #expect(abs(rig.engine.state().decks[0].trimDb) < 0.01)
        try rig.run(seconds: 1)
        #expect(abs(rig.engine.state().decks[1].trimDb + 7.5) < 0.01)
    }

    @Test func playlist_from_the_store_plays_real_files() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try StateStore(directory: dir.appendingPathComponent("state").path)
        let list = try store.createPlaylist(name: "Files")
        var paths: [String] = []
        for (name, hz) in [("one", 300.0), ("two", 500.0)] {
            let path = dir.appendingPathComponent("\(name).wav").path
            try TestAudio.write(TestAudio.sine(hz, seconds: 1.5, rate: 44100), to: path, rate: 44100)
            try store.addEntry(playlistID: list.id, path: path)
            paths.append(path)
        }
        let firstLength = UInt64(try Track.load(path: paths[0], sampleRate: 48000).frameCount)
        let engine = try Engine()
        let ctx = try RenderContext(engine: engine, periodFrames: 512)
        let player = try QueuePlayer(engine: engine, crossfadeSeconds: 0.5) { item in
            try Track.load(path: item.path, sampleRate: 48000)
        }
        let log = EventLog()
        player.onEvent = { log.append($0) }
        let items = try store.playlist(id: list.id).queueItems
        try player.start(items: items)
        while log.finished.isEmpty && engine.frame < 10 * second {
            try player.tick()
            player.waitForLoads()
            ctx.renderPeriod()
            engine.pollEvents()
        }
        #expect(log.started.map(\.entry) == items.map(\.entryID))
        #expect(log.started.count == 2)
        #expect(log.started.last?.frame == (log.started.first?.frame ?? 0) + firstLength - second / 2)
    }

    @Test func bad_arguments_are_refused_naming_the_value() throws {
        let engine = try Engine()
        let loader: @Sendable (QueueItem) throws -> Track = { _ in throw DJCoreError.notFound("none") }
        #expect(throws: DJCoreError.invalidArgument("deck 9 does not exist (decks are 1 ... 4)")) {
            try QueuePlayer(engine: engine, decks: (1, 9), loader: loader)
        }
        #expect(throws: DJCoreError.self) { try QueuePlayer(engine: engine, decks: (2, 2), loader: loader) }
        #expect(throws: DJCoreError.invalidArgument("crossfadeSeconds -1.0 is outside 0 ... 60")) {
            try QueuePlayer(engine: engine, crossfadeSeconds: -1, loader: loader)
        }
        let player = try QueuePlayer(engine: engine, loader: loader)
        #expect(throws: DJCoreError.invalidArgument("the queue is empty: nothing to start")) { try player.start(items: []) }
        #expect(throws: DJCoreError.invalidArgument("index 2 is outside 0 ... 0")) {
            try player.start(items: [item("a", entry: 1)], at: 2)
        }
        #expect(throws: DJCoreError.self) { try player.stop(fadeSeconds: .nan) }
        #expect(player.status.state == .idle)
    }

    @Test func events_and_status_encode_as_camel_case_json() throws {
        let e = QueueEvent.trackStarted(index: 0, item: item("a", entry: 1), deck: 1, frame: 2656)
        let data = try JSONEncoder().encode(e)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["type"] as? String == "trackStarted")
        #expect(object["frame"] as? Int == 2656 && object["deck"] as? Int == 1)
        #expect((object["item"] as? [String: Any])?["entryID"] as? Int == 1)
        #expect(try JSONDecoder().decode(QueueEvent.self, from: data) == e)
        let skipped = QueueEvent.itemSkipped(index: 2, item: item("b", entry: 2), error: "b: file not found")
        #expect(try JSONDecoder().decode(QueueEvent.self, from: JSONEncoder().encode(skipped)) == skipped)
        let status = QueueStatus(state: .playing, index: 0, current: item("a", entry: 1), next: nil, deck: 1,
                                 position: 1.5, duration: 3, startedAtFrame: 2656, errors: [])
        let s = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as? [String: Any])
        #expect(s["state"] as? String == "playing" && s["startedAtFrame"] as? Int == 2656)
        // Every key is always there; what does not apply is null.
        #expect(Set(s.keys) == ["state", "index", "current", "next", "deck", "position", "duration", "startedAtFrame", "errors"])
        #expect(s["next"] is NSNull)
        #expect((s["current"] as? [String: Any])?["analysis"] is NSNull)
        #expect(try JSONDecoder().decode(QueueStatus.self, from: JSONEncoder().encode(status)) == status)
    }
}
