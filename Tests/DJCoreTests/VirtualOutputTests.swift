import CDSP
import DJCore
import Foundation
import Testing

/// The clock-paced virtual output (`--output null|file:PATH`): the real live path — AudioScheduler, the C
/// player, its audio thread — against a device that takes audio at the real-time rate of CLOCK_MONOTONIC,
/// with no sound card. These run everywhere (no JACK, no environment gate); each plays about a second.
@Suite("Virtual output (null, file:PATH)", .serialized)
struct VirtualOutputTests {
    static let rate = 48000

    /// A two-deck engine playing a `hz` tone on deck 1 from frame 0; the commands as a timeline, for the
    /// offline render of the same session.
    static func toneEngine(hz: Double = 1000, seconds: Double = 4) throws -> (Engine, [TimedCommand]) {
        let engine = try Engine(configuration: EngineConfiguration(sampleRate: rate, decks: 2))
        let track = try Track(interleavedStereo: TestAudio.sine(hz, seconds: seconds), sampleRate: rate, name: "tone")
        var timeline: [TimedCommand] = []
        for c: EngineCommand in [.load(deck: 1, track: track), .play(deck: 1)] {
            try engine.send(c, at: 0)
            timeline.append(TimedCommand(frame: 0, command: c))
        }
        return (engine, timeline)
    }

    static func configuration(_ output: VirtualOutput, format: AudioSampleFormat = .auto) -> AudioOutputConfiguration {
        var c = AudioOutputConfiguration(virtual: output)
        c.period = .frames(256)
        c.periods = 3
        c.format = format
        c.lockMemory = false
        return c
    }

    /// Decodes a WAV as written (stereo float, no rate conversion).
    static func read(_ path: String) throws -> [Float] {
        var audio = cdsp_audio()
        var info = cdsp_audiofile_info()
        let (st, message) = withMessage { cdsp_audiofile_load(path, 0, CDSP_SRC_MEDIUM, 0, &audio, &info, $0, $1) }
        guard st == CDSP_OK else { throw DJCoreError.fileWrite(path: path, detail: message) }
        defer { cdsp_audio_free(&audio) }
        return Array(UnsafeBufferPointer(start: audio.frames, count: Int(audio.length) * 2))
    }

    /// What the header says, read through libsndfile.
    static func probe(_ path: String) throws -> cdsp_audiofile_info {
        var info = cdsp_audiofile_info()
        let (st, message) = withMessage { cdsp_audiofile_probe(path, &info, $0, $1) }
        guard st == CDSP_OK else { throw DJCoreError.fileWrite(path: path, detail: message) }
        return info
    }

    static func withMessage<T>(_ body: (UnsafeMutablePointer<CChar>, Int) -> T) -> (T, String) {
        var buf = [CChar](repeating: 0, count: 512)
        let r = buf.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        return (r, String(cString: buf))
    }

    @Test(arguments: [AudioSampleFormat.auto, .s16])
    func a_tone_played_live_to_a_file_is_the_offline_render(_ format: AudioSampleFormat) throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("live.wav").path
        let (engine, timeline) = try Self.toneEngine()
        let scheduler = try AudioScheduler(engine: engine, configuration: Self.configuration(.file(path: path), format: format),
                                           onEngineEvents: { _ in })
        let info = scheduler.output
        #expect(info.deviceType == "VIRTUAL" && info.isVirtual)
        #expect(info.device == "file:\(path)")
        #expect(info.recordingPath == path)
        #expect(info.format == "FLOAT_LE" && info.channels == 2 && info.periodFrames == 256 && info.bufferFrames == 768)
        try scheduler.start()
        #expect(LiveDevice.waitUntil(timeout: 5) { engine.frame >= UInt64(1.5 * Double(Self.rate)) })
        scheduler.stop(fadeOut: 0)
        let rendered = Int(engine.frame)
        let stats = scheduler.stats
        let v = try #require(stats.virtualOutput)
        #expect(v.droppedFrames == 0)
        #expect(v.recordingError == nil)
        #expect(v.frames == UInt64(rendered))
        #expect(v.recordedFrames == UInt64(rendered))

        let header = try Self.probe(path)
        #expect(header.sample_rate == UInt32(Self.rate) && header.channels == 2)
        #expect(cString(header.format).contains(format == .s16 ? "16" : "float"), "\(cString(header.format))")
        // every rendered frame is in the file, nothing more
        #expect(header.frames == Int64(rendered))
        let live = try Self.read(path)
        #expect(live.count == rendered * 2)
        #expect(abs(TestAudio.frequency(live, from: 1000, to: rendered - 1000) - 1000) < 0.5)

        let offline = try OfflineRenderer(engine: Engine(configuration: engine.configuration), periodFrames: 256)
            .renderToArray(frames: UInt64(rendered), timeline: timeline)
        // level: the same as the offline render of the session (and a real signal)
        let levelDb = TestAudio.db(TestAudio.rms(live, from: 1000, to: rendered))
        let offlineDb = TestAudio.db(TestAudio.rms(offline, from: 1000, to: rendered))
        #expect(abs(levelDb - offlineDb) < 0.05, "live \(levelDb) dB, offline \(offlineDb) dB")
        #expect(levelDb > -12)
        // sample for sample: float is exact; 16-bit within the dither (+-1 LSB) and rounding
        let tolerance: Float = format == .s16 ? 2.5 / 32768 : 0
        var worst: Float = 0
        for i in 0..<min(live.count, offline.count) { worst = max(worst, abs(live[i] - offline[i])) }
        if worst > tolerance { TestAudio.keepForInspection(live, name: "virtual-output-\(format.rawValue)") }
        #expect(worst <= tolerance, "largest difference to the offline render: \(worst)")
    }

    @Test func the_null_output_takes_audio_at_the_real_time_rate() throws {
        let (engine, _) = try Self.toneEngine()
        let scheduler = try AudioScheduler(engine: engine, configuration: Self.configuration(.null), onEngineEvents: { _ in })
        #expect(scheduler.output.device == "null" && scheduler.output.recordingPath == nil)
        try scheduler.start()
        defer { scheduler.stop(fadeOut: 0) }
        // past the initial buffer fill, the device drains at `rate` frames per second
        #expect(LiveDevice.waitUntil(timeout: 2) { engine.frame >= 4800 })
        let f0 = engine.frame, t0 = AudioScheduler.monotonicNanoseconds()
        usleep(1_000_000)
        let f1 = engine.frame, t1 = AudioScheduler.monotonicNanoseconds()
        let measured = Double(f1 - f0) / (Double(t1 - t0) / 1e9)
        #expect(abs(measured / Double(Self.rate) - 1) <= 0.2, "\(measured) frames/s for \(Self.rate)")
        let stats = scheduler.stats
        #expect(stats.state == .running)
        #expect(stats.periods >= UInt64(f1 / 256) - 1 && stats.periods <= UInt64(f1 / 256) + 1)
        #expect(stats.virtualOutput?.droppedFrames == 0)
        #expect(stats.virtualOutput?.recordedFrames == nil)
        // the clock the daemon shows: the heard frame trails the rendered one by at most the buffer
        let heard = try #require(scheduler.heardFrame(at: AudioScheduler.monotonicNanoseconds()))
        #expect(heard <= Double(engine.frame) && heard >= Double(engine.frame) - 768 - 2 * 256 - 48 * 20)
    }

    /// The header is kept valid while recording: a reader (or a SIGKILL) in the middle of the session sees a
    /// playable file with the frames written so far.
    @Test func the_file_is_valid_while_it_is_being_written() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("growing.wav").path
        let (engine, _) = try Self.toneEngine()
        let scheduler = try AudioScheduler(engine: engine, configuration: Self.configuration(.file(path: path)), onEngineEvents: { _ in })
        try scheduler.start()
        defer { scheduler.stop(fadeOut: 0) }
        #expect(LiveDevice.waitUntil(timeout: 5) { engine.frame >= UInt64(Self.rate / 2) })
        let recordedBefore = try #require(scheduler.stats.virtualOutput?.recordedFrames)
        let header = try Self.probe(path)
        let recordedAfter = try #require(scheduler.stats.virtualOutput?.recordedFrames)
        let rendered = engine.frame
        // the header says exactly what the writer has written at that moment
        #expect(header.frames >= Int64(recordedBefore) && header.frames <= Int64(recordedAfter))
        // which trails the audio thread by the writer's pump interval and the device buffer, no more
        #expect(header.frames > 0 && Int64(rendered) - header.frames <= Int64(Self.rate) / 5,
                "header \(header.frames) frames, rendered \(rendered)")
        let partial = try Self.read(path)
        #expect(partial.count >= Int(header.frames) * 2)
        #expect(abs(TestAudio.frequency(partial, from: 100, to: Int(header.frames) - 100) - 1000) < 1)
    }

    @Test func a_stalled_audio_thread_underruns_and_no_frame_is_lost() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("stall.wav").path
        let (engine, _) = try Self.toneEngine()
        let scheduler = try AudioScheduler(engine: engine, configuration: Self.configuration(.file(path: path)), onEngineEvents: { _ in })
        try scheduler.start()
        #expect(LiveDevice.waitUntil(timeout: 5) { scheduler.stats.periods > 20 })
        // 100 ms asleep against a 16 ms buffer: the modelled device runs dry, as a card would
        scheduler.injectStall(milliseconds: 100)
        #expect(LiveDevice.waitUntil(timeout: 5) { scheduler.stats.underruns >= 1 })
        let after = scheduler.stats.periods
        usleep(300_000)
        let stats = scheduler.stats
        #expect(stats.state == .running && stats.deviceFailures == 0)
        #expect(stats.periods > after + 20)
        scheduler.stop(fadeOut: 0)
        // an underrun costs time, not audio: the file holds every rendered frame
        #expect(try Self.probe(path).frames == Int64(engine.frame))
        #expect(scheduler.stats.virtualOutput?.underruns == scheduler.stats.underruns)
    }

    @Test func four_channels_record_the_cue_bus_on_3_and_4() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("quad.wav").path
        let (engine, _) = try Self.toneEngine()
        try engine.send([.cue(deck: 1, true), .fader(deck: 1, 0)])  // heard on the cue bus only
        var c = Self.configuration(.file(path: path))
        c.channels = 4
        let scheduler = try AudioScheduler(engine: engine, configuration: c, onEngineEvents: { _ in })
        #expect(scheduler.output.channels == 4 && scheduler.output.cueOnChannels3And4)
        try scheduler.start()
        #expect(LiveDevice.waitUntil(timeout: 5) { engine.frame >= 12000 })
        scheduler.stop(fadeOut: 0)
        let header = try Self.probe(path)
        #expect(header.channels == 4 && header.frames == Int64(engine.frame))
        // channels 1/2 (the master) are silent once the fader is down: the tone is on the cue bus only
        let master = try Self.read(path)
        #expect(TestAudio.db(TestAudio.rms(master, from: 4800)) < -90)
    }

    @Test func a_recording_that_cannot_be_created_names_its_path() throws {
        let path = "/nonexistent-djcore-dir/out.wav"
        #expect {
            _ = try AudioOutput(Self.configuration(.file(path: path)), sampleRate: Self.rate)
        } throws: { error in
            guard case let .fileWrite(p, detail) = error as? DJCoreError else { return false }
            return p == path && detail.contains(path) && "\(error)".contains(path)
        }
    }

    @Test func output_names_parse_and_the_alsa_null_device_stays_alsa() throws {
        #expect(try VirtualOutput(parsing: "null") == .null)
        #expect(try VirtualOutput(parsing: "file:/tmp/a b.wav") == .file(path: "/tmp/a b.wav"))
        #expect(throws: DJCoreError.self) { try VirtualOutput(parsing: "file:") }
        #expect(throws: DJCoreError.self) { try VirtualOutput(parsing: "hw:0") }
        #expect(AudioOutputConfiguration(virtual: .file(path: "/x.wav")).outputName == "file:/x.wav")
        // ALSA's own "null" PCM is a device, not the virtual output
        let alsa = try AudioOutput(AudioOutputConfiguration(device: "null"), sampleRate: Self.rate)
        #expect(!alsa.info.isVirtual && alsa.virtualStats == nil)
        // what the virtual device refuses, it says (and a refused recording creates no file)
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("refused.wav").path
        for output in [VirtualOutput.null, .file(path: path)] {
            var c = Self.configuration(output)
            c.channels = 3
            #expect {
                _ = try AudioOutput(c, sampleRate: Self.rate)
            } throws: { error in
                guard case let .audioDevice(device, _, detail) = error as? DJCoreError else { return false }
                return device == output.description && detail.contains("2 channels") && detail.contains("not 3")
            }
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}

private func cString<T>(_ tuple: T) -> String {
    withUnsafeBytes(of: tuple) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
}
