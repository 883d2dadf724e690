import CDSP
import CRTCheck
import DJCore
import Foundation
import Testing

/// The ALSA tests run against the virtual devices of scripts/alsa/djcore-test.conf, served by the JACK
/// dummy server that scripts/virtual-audio.sh starts (paced in real time; underruns are real).
/// scripts/test.sh and .ci/run start it and set DJCORE_TEST_ALSA=1; without it these tests are skipped.
enum LiveDevice {
    /// Starts a scheduler on `configuration` with the allocation probe on its audio thread, sends every
    /// command type while it plays, stops it, and returns what the probe saw (and the stopped scheduler).
    static func playEveryCommand(_ engine: Engine, _ tracks: [Track], on configuration: AudioOutputConfiguration)
        throws -> (crt_player_probe, AudioScheduler) {
        let probe = UnsafeMutablePointer<crt_player_probe>.allocate(capacity: 1)
        probe.initialize(to: crt_player_probe())
        defer { probe.deallocate() }
        let hook = AudioThreadHook(function: { user, phase in crt_player_hook(user, phase) }, context: UnsafeMutableRawPointer(probe))
        let scheduler = try AudioScheduler(engine: engine, configuration: configuration, onEngineEvents: { _ in }, audioThreadHook: hook)
        try scheduler.start()
        let t = tracks[0]
        let commands: [EngineCommand] = [
            .pause(deck: 1), .play(deck: 1), .seek(deck: 2, frame: 1000), .setCue(deck: 3, frame: 500), .jumpToCue(deck: 3),
            .rate(deck: 4, 0.97, .frames(1000)), .loopIn(deck: 1, frame: nil), .loopOut(deck: 1, frame: nil), .loopExit(deck: 1),
            .loopReenter(deck: 1), .trim(deck: 2, db: -3), .eq(deck: 2, band: .high, db: -20), .kill(deck: 3, band: .low, true),
            .filter(deck: 4, 0.6), .filterResonance(deck: 4, 2), .fader(deck: 1, 0.5), .assign(deck: 3, .thru), .cue(deck: 4, true),
            .crossfader(0.7), .curve(.sharp), .masterGain(db: -2), .cueMix(0.3), .cueGain(db: -6), .limiterCeiling(db: -2),
            .load(deck: 2, track: t), .play(deck: 2), .unload(deck: 4),
        ]
        for cmd in commands {
            try engine.send(cmd)
            usleep(10_000)
        }
        usleep(300_000)
        scheduler.stop(fadeOut: 0.02)
        return (probe.pointee, scheduler)
    }

    static let available = ProcessInfo.processInfo.environment["DJCORE_TEST_ALSA"] == "1"
    static let stereo = "djcore_jack2"
    static let quad = "djcore_jack4"
    static func capture(_ path: String, channels: Int = 2) -> String { "djcore_capture:FILE=\(path),CHANNELS=\(channels)" }

    /// Four decks of music-like material (looping), EQ and filters set: what a DJ's engine renders.
    static func busyEngine(decks: Int = 4, reportApplied: Bool = false) throws -> (Engine, [Track]) {
        var c = EngineConfiguration(sampleRate: 48000, decks: 4)
        c.reportsAppliedCommands = reportApplied
        let engine = try Engine(configuration: c)
        var tracks: [Track] = []
        for d in 1...decks {
            let samples = zip(TestAudio.sine(110 * Double(d), seconds: 4), TestAudio.noise(seconds: 4, amplitude: 0.1, seed: UInt32(d))).map { $0 + $1 }
            let t = try Track(interleavedStereo: samples, sampleRate: 48000, name: "deck \(d)")
            tracks.append(t)
        }
        return (engine, tracks)
    }

    static func setUp(_ engine: Engine, _ tracks: [Track], send: (EngineCommand) throws -> Void) throws {
        for (i, t) in tracks.enumerated() {
            let d = i + 1
            for c: EngineCommand in [.load(deck: d, track: t), .loop(deck: d, start: 0, end: t.frameCount),
                                     .rate(deck: d, d > 2 ? 1.03 : 1.0), .eq(deck: d, band: .low, db: -4),
                                     .filter(deck: d, d % 2 == 0 ? 0.2 : -0.2), .assign(deck: d, d % 2 == 0 ? .b : .a),
                                     .cue(deck: d, d == 2), .fader(deck: d, 0.8), .play(deck: d)] {
                try send(c)
            }
        }
    }

    static func waitUntil(timeout: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(2000)
        }
        return condition()
    }
}

@Suite("ALSA output: errors that need no device")
struct AudioOutputErrorTests {
    @Test func opening_a_device_that_does_not_exist_names_it() throws {
        var config = AudioOutputConfiguration(device: "djcore_no_such_device")
        config.period = .frames(256)
        #expect {
            _ = try AudioOutput(config, sampleRate: 48000)
        } throws: { error in
            guard case let .audioDevice(device, reason, detail) = error as? DJCoreError else { return false }
            return device == "djcore_no_such_device" && reason == .notFound
                && detail.contains("'djcore_no_such_device'") && detail.contains("no such device")
        }
    }

    @Test func a_missing_card_is_not_found() throws {
        #expect {
            _ = try AudioOutput(AudioOutputConfiguration(device: "hw:7,0"), sampleRate: 48000)
        } throws: { error in
            guard case let .audioDevice(_, reason, detail) = error as? DJCoreError else { return false }
            return reason == .notFound && detail.contains("hw:7,0")
        }
    }

    @Test(arguments: [
        ("channels", "1 output channels"), ("period", "period of 8 frames"), ("periods", "1 periods"),
        ("priority", "real-time priority 120"), ("device", "no sound device name"),
    ])
    func absurd_parameters_are_refused_with_the_value(_ field: String, _ message: String) throws {
        var c = AudioOutputConfiguration(device: "null")
        switch field {
        case "channels": c.channels = 1
        case "period": c.period = .frames(8)
        case "periods": c.periods = 1
        case "priority": c.realtimePriority = 120
        default: c.device = ""
        }
        #expect {
            _ = try AudioOutput(c, sampleRate: 48000)
        } throws: { error in
            guard case let .invalidArgument(m) = error as? DJCoreError else { return false }
            return m.contains(message)
        }
    }

    @Test func the_null_device_grants_what_was_asked() throws {
        var c = AudioOutputConfiguration(device: "null")
        c.period = .milliseconds(5)
        c.periods = 4
        c.format = .s24packed
        let out = try AudioOutput(c, sampleRate: 44100)
        #expect(out.info.sampleRate == 44100)
        #expect(out.info.format == "S24_3LE")
        #expect(out.info.periodFrames == 221 || out.info.periodFrames == 220)  // 5 ms at 44.1 kHz, as granted
        #expect(out.info.bufferFrames >= 2 * out.info.periodFrames)
        #expect(out.info.channels == 2)  // not a hardware device: master only
    }

    @Test func a_scheduler_refuses_an_engine_at_another_rate() throws {
        let engine = try Engine(configuration: EngineConfiguration(sampleRate: 44100, decks: 2))
        let out = try AudioOutput(AudioOutputConfiguration(device: "null"), sampleRate: 48000)
        #expect(throws: DJCoreError.self) { try AudioScheduler(engine: engine, output: out) }
    }
}

@Suite("ALSA live path (virtual JACK device)", .enabled(if: LiveDevice.available, "needs scripts/virtual-audio.sh (DJCORE_TEST_ALSA=1)"))
struct LivePathTests {
    @Test func five_seconds_of_audio_take_five_seconds() throws {
        let (engine, tracks) = try LiveDevice.busyEngine()
        try LiveDevice.setUp(engine, tracks) { try engine.send($0) }
        var c = AudioOutputConfiguration(device: LiveDevice.stereo)
        c.period = .frames(256)
        let scheduler = try AudioScheduler(engine: engine, configuration: c, onEngineEvents: { _ in })
        let info = scheduler.output
        #expect(info.periodFrames == 256)
        #expect(info.format == "FLOAT_LE")
        let t0 = Date()
        try scheduler.start()
        // The buffer is filled at once; from then on the device takes 48 000 frames a second.
        let target = UInt64(5 * 48000 + info.bufferFrames)
        let reached = LiveDevice.waitUntil(timeout: 10) { engine.frame >= target }
        let wall = Date().timeIntervalSince(t0)
        scheduler.stop(fadeOut: 0.02)
        #expect(reached)
        #expect(abs(wall - 5) <= 0.25, "5 s of audio took \(wall) s")
        let stats = scheduler.stats
        #expect(stats.state == .stopped)
        #expect(stats.periods >= UInt64(5 * 48000 / 256))
    }

    @Test func a_stalled_audio_thread_underruns_once_and_playback_resumes() throws {
        let (engine, tracks) = try LiveDevice.busyEngine(decks: 2)
        try LiveDevice.setUp(engine, tracks) { try engine.send($0) }
        let events = Locked<[AudioSchedulerEvent]>([])
        let scheduler = try AudioScheduler(engine: engine, configuration: AudioOutputConfiguration(device: LiveDevice.stereo),
                                           onEvent: { e in events.withLock { $0.append(e) } }, onEngineEvents: { _ in })
        try scheduler.start()
        defer { scheduler.stop(fadeOut: 0) }
        #expect(LiveDevice.waitUntil(timeout: 5) { scheduler.stats.periods > 50 })
        #expect(scheduler.stats.underruns == 0)
        // 100 ms asleep against a 16 ms buffer: the device runs dry.
        scheduler.injectStall(milliseconds: 100)
        #expect(LiveDevice.waitUntil(timeout: 5) { scheduler.stats.underruns >= 1 })
        let after = scheduler.stats.periods
        // Playing again: another half second of periods arrives at the real-time pace, without new underruns.
        usleep(500_000)
        let stats = scheduler.stats
        #expect(stats.state == .running)
        #expect(stats.underruns == 1)
        #expect(stats.deviceFailures == 0)
        let periodsPerHalfSecond = 0.5 * 48000 / 256.0
        #expect(Double(stats.periods - after) > 0.8 * periodsPerHalfSecond)
        #expect(Double(stats.periods - after) < 1.3 * periodsPerHalfSecond + 3)
        #expect(LiveDevice.waitUntil(timeout: 1) { events.withLock { $0.contains(.underruns(total: 1)) } })
    }

    /// A session played live — commands sent at random moments, unstamped and stamped — into a recording
    /// device is the offline render of its command log, sample for sample, master on 1/2 and cue on 3/4.
    @Test func live_equals_offline_for_the_same_command_log() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let raw = dir.appendingPathComponent("live.raw").path
        let (engine, tracks) = try LiveDevice.busyEngine(reportApplied: true)
        let log = CommandLog()
        try LiveDevice.setUp(engine, tracks) { try log.send($0, to: engine) }
        var c = AudioOutputConfiguration(device: LiveDevice.capture(raw, channels: 4))
        c.channels = 4
        c.format = .float
        let scheduler = try AudioScheduler(engine: engine, configuration: c, onEngineEvents: { log.absorb($0) })
        #expect(scheduler.output.cueOnChannels3And4)
        try scheduler.start()
        var rng = SystemRandomNumberGenerator()
        for i in 0..<60 {
            usleep(UInt32.random(in: 5_000...40_000, using: &rng))
            let d = Int.random(in: 1...4, using: &rng)
            let cmd: EngineCommand = [
                .fader(deck: d, Double.random(in: 0.3...1, using: &rng), .frames(Int.random(in: 0...2000, using: &rng))),
                .eq(deck: d, band: .mid, db: Double.random(in: -12...6, using: &rng)),
                .crossfader(Double.random(in: -1...1, using: &rng)),
                .seek(deck: d, frame: Double.random(in: 0...100_000, using: &rng)),
                .rate(deck: d, Double.random(in: 0.9...1.1, using: &rng)),
                .cueMix(Double.random(in: 0...1, using: &rng)),
            ][i % 6]
            if i % 3 == 2 {
                try log.send(cmd, to: engine, at: engine.frame + UInt64.random(in: 300...3000, using: &rng))
            } else {
                try log.send(cmd, to: engine)
            }
        }
        usleep(200_000)
        scheduler.stop(fadeOut: 0)
        let stats = scheduler.stats
        #expect(log.pending == 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: raw))
        let frames = data.count / 16
        #expect(frames == Int(engine.frame), "captured \(frames) frames, rendered \(engine.frame)")
        #expect(frames >= 48000)

        // offline: a fresh engine, the same tracks, the log's timeline
        var config = engine.configuration
        config.reportsAppliedCommands = false
        let offline = try OfflineRenderer(engine: Engine(configuration: config), periodFrames: 1000)
        var master: [Float] = [], cue: [Float] = []
        try offline.render(frames: UInt64(frames), timeline: log.timeline) { m, q in
            master.append(contentsOf: m)
            cue.append(contentsOf: q)
        }
        var mismatches = 0
        var firstMismatch: Int?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let live = raw.bindMemory(to: Float.self)
            for i in 0..<frames {
                let same = live[4 * i] == master[2 * i] && live[4 * i + 1] == master[2 * i + 1]
                    && live[4 * i + 2] == cue[2 * i] && live[4 * i + 3] == cue[2 * i + 1]
                if !same { mismatches += 1; if firstMismatch == nil { firstMismatch = i } }
            }
        }
        #expect(mismatches == 0, "first mismatch at frame \(firstMismatch ?? -1)")
        #expect(TestAudio.rms(master) > 0.05)  // there was music
        #expect(TestAudio.rms(cue) > 0.01)     // deck 2 on the cue bus
        #expect(stats.underruns == 0)
    }

    /// S16 output: the bytes the device got are the offline render converted with the same dither.
    @Test func s16_output_is_the_offline_render_dithered() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let raw = dir.appendingPathComponent("s16.raw").path
        let (engine, tracks) = try LiveDevice.busyEngine(decks: 2)
        var timeline: [TimedCommand] = []
        try LiveDevice.setUp(engine, tracks) { c in
            try engine.send(c, at: 0)
            timeline.append(TimedCommand(frame: 0, command: c))
        }
        var c = AudioOutputConfiguration(device: LiveDevice.capture(raw))
        c.format = .s16
        let scheduler = try AudioScheduler(engine: engine, configuration: c, onEngineEvents: { _ in })
        #expect(scheduler.output.format == "S16_LE")
        try scheduler.start()
        #expect(LiveDevice.waitUntil(timeout: 5) { engine.frame >= 48000 })
        scheduler.stop(fadeOut: 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: raw))
        let frames = data.count / 4
        #expect(frames == Int(engine.frame))
        let offline = try OfflineRenderer(engine: Engine(configuration: engine.configuration), periodFrames: 256)
        var master: [Float] = []
        try offline.render(frames: UInt64(frames), timeline: timeline) { m, _ in master.append(contentsOf: m) }
        var expected = [Int16](repeating: 0, count: frames * 2)
        var dither: UInt32 = 0x12345679
        // converted period by period, as the device path does
        var done = 0
        while done < frames {
            let n = min(256, frames - done)
            master.withUnsafeBufferPointer { m in
                expected.withUnsafeMutableBufferPointer { e in
                    cdsp_pcm_convert(CDSP_PCM_FORMAT_S16, 2, 0, m.baseAddress! + 2 * done, nil, UInt32(n),
                                     e.baseAddress! + 2 * done, &dither)
                }
            }
            done += n
        }
        let live = data.withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        #expect(live == expected)
    }
}


/// The live audio thread, checked as a whole: an allocation counter armed on the audio thread from the
/// start of its loop to its end (every device wait, render and write in between), and in the
/// -fsanitize=realtime build a sanitizer region around every render. Runs in scripts/test.sh's sanitizer
/// pass too (the suite name matches its filter).
@Suite("Real-time safety of the live thread", .serialized,
       .enabled(if: LiveDevice.available, "needs scripts/virtual-audio.sh (DJCORE_TEST_ALSA=1)"))
struct RealtimeSafetyLiveTests {
    /// The 4-channel case also has the engine report every applied command (the command log's path).
    @Test(arguments: [(LiveDevice.stereo, 2, AudioSampleFormat.float), (LiveDevice.quad, 4, .float),
                      ("plug:" + LiveDevice.stereo, 2, .s16), ("plug:" + LiveDevice.stereo, 2, .s24packed)])
    func the_audio_thread_allocates_nothing_while_playing(_ device: String, _ channels: Int, _ format: AudioSampleFormat) throws {
        let (engine, tracks) = try LiveDevice.busyEngine(reportApplied: channels == 4)
        try LiveDevice.setUp(engine, tracks) { try engine.send($0) }
        var c = AudioOutputConfiguration(device: device)
        c.channels = channels
        c.format = format
        let (probe, scheduler) = try LiveDevice.playEveryCommand(engine, tracks, on: c)
        #expect(probe.finished == 1)
        #expect(probe.periods > 50)
        if crt_alloc_counter_available() == 1 {
            #expect(probe.allocations == 0, "the audio thread allocated \(probe.allocations) times")
        }
        #expect(scheduler.stats.underruns == 0)
    }
}
