import DJCore
import Foundation
import Testing

@Suite("Engine")
struct EngineTests {
    @Test func varispeed_1_05_turns_440hz_into_462hz() throws {
        let track = try Track(interleavedStereo: TestAudio.sine(440, seconds: 4), sampleRate: 48000)
        let out = try renderEngine(seconds: 3, timeline: [
            TimedCommand(frame: 0, command: .load(deck: 1, track: track)),
            TimedCommand(frame: 0, command: .rate(deck: 1, 1.05, .immediate)),
            TimedCommand(frame: 0, command: .play(deck: 1)),
        ])
        let f = TestAudio.frequency(out, from: 24000, to: 120_000)
        #expect(abs(f - 462) <= 0.5, "measured \(f) Hz")
    }

    @Test func a_rate_applies_from_its_frame_on_so_positions_are_exact() throws {
        let engine = try Engine()
        let ctx = try RenderContext(engine: engine, periodFrames: 1000)
        let t = try Track(interleavedStereo: TestAudio.noise(seconds: 3), sampleRate: 48000)
        try engine.send([.load(deck: 1, track: t), .rate(deck: 1, 0.96875), .play(deck: 1)])
        for _ in 0..<48 { ctx.renderPeriod() }
        #expect(abs(engine.state().decks[0].position - 48000 * 0.96875) < 1e-6)
    }

    @Test func rate_changes_every_period_do_not_click() throws {
        // A pitch-bend wobble: a new rate every 256-frame period. The output of a pure tone must stay a
        // smooth sine: no sample-to-sample jump beyond what the highest instantaneous frequency allows.
        let track = try Track(interleavedStereo: TestAudio.sine(440, seconds: 6, amplitude: 0.5), sampleRate: 48000)
        var tl = [TimedCommand(frame: 0, command: .load(deck: 1, track: track)),
                  TimedCommand(frame: 0, command: .play(deck: 1))]
        for p in 1..<400 {
            let r = 1.0 + 0.08 * sin(Double(p) * 0.3)
            tl.append(TimedCommand(frame: UInt64(p * 256), command: .rate(deck: 1, r, .frames(256))))
        }
        let out = try renderEngine(seconds: 2.2, timeline: tl)
        var maxStep: Float = 0
        for i in 4800..<100_000 { maxStep = max(maxStep, abs(out[2 * (i + 1)] - out[2 * i])) }
        // 0.5 * 2π * 440 * 1.08 / 48000 = 0.0311 per sample at most for a clean sine.
        #expect(maxStep < 0.0311 * 1.05, "largest step \(maxStep)")
    }

    @Test func fader_jump_0_to_1_steps_no_more_than_the_ramp_allows() throws {
        let track = try Track(interleavedStereo: TestAudio.constant(0.5, seconds: 4), sampleRate: 48000)
        let base: [TimedCommand] = [
            TimedCommand(frame: 0, command: .load(deck: 1, track: track)),
            TimedCommand(frame: 0, command: .fader(deck: 1, 0, .immediate)),
            TimedCommand(frame: 0, command: .play(deck: 1)),
        ]
        func largestStep(_ ramp: Ramp) throws -> Float {
            let out = try renderEngine(seconds: 2, timeline: base + [TimedCommand(frame: 48000, command: .fader(deck: 1, 1, ramp))])
            var m: Float = 0
            for i in 47000..<60000 { m = max(m, abs(out[2 * (i + 1)] - out[2 * i])) }
            return m
        }
        let rampFrames = EngineConfiguration().defaultRampFrames
        let smooth = try largestStep(.standard)
        #expect(smooth <= 0.5 / Float(rampFrames) * 1.01, "step \(smooth) with a \(rampFrames)-frame ramp")
        #expect(smooth > 0) // the fader did open
        // The check is able to fail: an unramped jump is one full step.
        #expect(try largestStep(.immediate) > 0.49)
    }

    @Test func command_lands_on_its_frame_plus_the_reported_latency() throws {
        let engine = try Engine()
        let track = try Track(interleavedStereo: TestAudio.constant(0.25, seconds: 1), sampleRate: 48000)
        var cfg = EngineConfiguration()
        cfg.declickFrames = 0
        let r = try OfflineRenderer(engine: try Engine(configuration: cfg), periodFrames: 256)
        let out = try r.renderToArray(frames: 20000, timeline: [
            TimedCommand(frame: 0, command: .load(deck: 1, track: track)),
            TimedCommand(frame: 12345, command: .play(deck: 1)),
        ])
        let first = (0..<20000).first { out[2 * $0] != 0 }
        #expect(first == 12345 + engine.latencyFrames)
    }

    @Test func constant_power_crossfader_centre_is_minus_3db() throws {
        let track = try Track(interleavedStereo: TestAudio.sine(1000, seconds: 2, amplitude: 0.4), sampleRate: 48000)
        func level(_ position: Double) throws -> Double {
            let out = try renderEngine(seconds: 1, timeline: [
                TimedCommand(frame: 0, command: .load(deck: 1, track: track)),
                TimedCommand(frame: 0, command: .assign(deck: 1, .a)),
                TimedCommand(frame: 0, command: .crossfader(position, .immediate)),
                TimedCommand(frame: 0, command: .play(deck: 1)),
            ])
            return TestAudio.rms(out, from: 24000)
        }
        let centre = TestAudio.db(try level(0) / (try level(-1)))
        #expect(abs(centre + 3.01) <= 0.2, "\(centre) dB")
        #expect(try level(1) == 0)
    }

    @Test func loop_through_the_engine_equals_the_loop_region_played_straight() throws {
        let noise = TestAudio.noise(seconds: 5)
        let looped = try Track(interleavedStereo: noise, sampleRate: 48000)
        // 4 beats at 120 BPM = 96000 frames, from frame 10000.
        let region = Array(noise[20000..<(20000 + 2 * 96000)])
        let straight = try Track(interleavedStereo: region + region + region, sampleRate: 48000)
        var cfg = EngineConfiguration()
        cfg.declickFrames = 0
        let a = try renderEngine(config: cfg, seconds: 5.5, timeline: [
            TimedCommand(frame: 0, command: .load(deck: 1, track: looped, position: 10000)),
            TimedCommand(frame: 0, command: .loop(deck: 1, start: 10000, end: 106_000)),
            TimedCommand(frame: 0, command: .play(deck: 1)),
        ])
        let b = try renderEngine(config: cfg, seconds: 5.5, timeline: [
            TimedCommand(frame: 0, command: .load(deck: 1, track: straight)),
            TimedCommand(frame: 0, command: .play(deck: 1)),
        ])
        #expect(a == b)
    }

    @Test func replaced_tracks_are_released_after_the_audio_side_hands_them_back() throws {
        let engine = try Engine()
        let ctx = try RenderContext(engine: engine, periodFrames: 256)
        weak var first: Track?
        do {
            let t1 = try Track(interleavedStereo: TestAudio.sine(100, seconds: 1), sampleRate: 48000)
            first = t1
            try engine.send(.load(deck: 1, track: t1))
            try engine.send(.load(deck: 2, track: t1))
        }
        ctx.renderPeriod()
        engine.pollEvents()
        #expect(first != nil) // still on two decks
        let t2 = try Track(interleavedStereo: TestAudio.sine(200, seconds: 1), sampleRate: 48000)
        try engine.send(.load(deck: 1, track: t2))
        ctx.renderPeriod()
        engine.pollEvents()
        #expect(first != nil) // still on deck 2
        try engine.send(.unload(deck: 2))
        ctx.renderPeriod()
        engine.pollEvents()
        #expect(first == nil)
        #expect(engine.retainedTrackCount == 1)
    }

    @Test func state_snapshot_shows_transport_and_mixer() throws {
        let engine = try Engine()
        let ctx = try RenderContext(engine: engine, periodFrames: 480)
        let t = try Track(interleavedStereo: TestAudio.sine(300, seconds: 2), sampleRate: 48000)
        try engine.send([.load(deck: 3, track: t), .play(deck: 3), .rate(deck: 3, 1.5, .immediate),
                         .eq(deck: 3, band: .mid, db: -6), .kill(deck: 3, band: .low, true), .crossfader(0.5)])
        for _ in 0..<100 { ctx.renderPeriod() }
        let s = engine.state()
        #expect(s.frame == 48000)
        #expect(s.decks.count == 4)
        let d = s.decks[2]
        #expect(d.playing && d.trackID == t.id && d.rate == 1.5 && d.varispeed)
        #expect(abs(d.position - 72000) < 1)
        #expect(abs(d.eqDb[1] + 6) < 0.01 && d.kills == [true, false, false])
        #expect(d.meter.peak[0] > 0.1)
        #expect(abs(s.crossfader - 0.5) < 1e-6)
        #expect(s.master.peak[0] > 0.1)
    }

    @Test(arguments: [
        (EngineCommand.play(deck: 5), "deck 5 does not exist"),
        (.rate(deck: 1, 3.0), "rate 3.0 is outside 0.5 ... 2.0"),
        (.eq(deck: 1, band: .low, db: 20), "above the maximum of +12 dB"),
        (.filter(deck: 1, .nan), "filter nan is outside"),
        (.loop(deck: 1, start: 100, end: 50), "loop needs 0 <= start < end"),
        (.crossfader(-1.5), "crossfader -1.5 is outside"),
    ])
    func bad_commands_are_refused_with_a_message_naming_the_problem(command: EngineCommand, message: String) throws {
        let engine = try Engine()
        do {
            try engine.send(command)
            Issue.record("accepted \(command)")
        } catch let e as DJCoreError {
            #expect(e.description.contains(message), "\(e.description)")
        }
        #expect(engine.queueDepth == 0)
    }

    @Test func a_track_at_the_wrong_rate_is_refused() throws {
        let engine = try Engine()
        let t = try Track(interleavedStereo: TestAudio.sine(100, seconds: 0.1, rate: 44100), sampleRate: 44100)
        #expect(throws: DJCoreError.self) { try engine.send(.load(deck: 1, track: t)) }
    }

    @Test func full_command_queue_is_reported_not_waited_on() throws {
        var cfg = EngineConfiguration()
        cfg.commandCapacity = 16
        let engine = try Engine(configuration: cfg)
        var refused = 0
        for _ in 0..<40 {
            do { try engine.send(.crossfader(0)) } catch DJCoreError.commandQueueFull { refused += 1 }
        }
        #expect(refused == 24)
    }

    @Test func invalid_configuration_names_the_field() {
        var cfg = EngineConfiguration()
        cfg.decks = 12
        #expect { try Engine(configuration: cfg) } throws: { ($0 as? DJCoreError)?.description.contains("decks 12") == true }
        cfg = EngineConfiguration()
        cfg.eqLowMidHz = 5000
        #expect { try Engine(configuration: cfg) } throws: { ($0 as? DJCoreError)?.description.contains("EQ crossovers") == true }
    }
}

@Suite("Engine: declicking")
struct DeclickTests {
    /// Largest sample-to-sample step of the left channel over frames [from, to).
    func largestStep(_ x: [Float], from: Int, to: Int) -> Float {
        var m: Float = 0
        for i in from..<to { m = max(m, abs(x[2 * (i + 1)] - x[2 * i])) }
        return m
    }

    @Test func seek_while_playing_crossfades_instead_of_clicking() throws {
        // A 200 Hz tone; seek to a point half a period out of phase: an unfaded jump is a step of ~2 x amplitude.
        let track = try Track(interleavedStereo: TestAudio.sine(200, seconds: 4, amplitude: 0.5), sampleRate: 48000)
        func render(declick: Int) throws -> [Float] {
            var cfg = EngineConfiguration()
            cfg.declickFrames = declick
            return try renderEngine(config: cfg, seconds: 1, timeline: [
                TimedCommand(frame: 0, command: .load(deck: 1, track: track)),
                TimedCommand(frame: 0, command: .play(deck: 1)),
                TimedCommand(frame: 24_060, command: .seek(deck: 1, frame: 96_180)), // 24060 = peak; 96180 = trough
            ])
        }
        let smooth = largestStep(try render(declick: 96), from: 23_000, to: 26_000)
        let hard = largestStep(try render(declick: 0), from: 23_000, to: 26_000)
        #expect(hard > 0.5, "the unfaded jump should be a step: \(hard)")
        #expect(smooth < 0.05, "a 200 Hz sine at 0.5 steps 0.013 per sample; the crossfade adds little: \(smooth)")
    }

    @Test func seek_under_varispeed_crossfades_too() throws {
        let track = try Track(interleavedStereo: TestAudio.sine(200, seconds: 4, amplitude: 0.5), sampleRate: 48000)
        let out = try renderEngine(seconds: 1, timeline: [
            TimedCommand(frame: 0, command: .load(deck: 1, track: track)),
            TimedCommand(frame: 0, command: .rate(deck: 1, 1.1, .immediate)),
            TimedCommand(frame: 0, command: .play(deck: 1)),
            TimedCommand(frame: 24_011, command: .jumpToCue(deck: 1)),
        ])
        #expect(largestStep(out, from: 23_000, to: 26_000) < 0.05)
    }
}
