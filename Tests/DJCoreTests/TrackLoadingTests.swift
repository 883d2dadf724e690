import DJCore
import Foundation
import Testing

@Suite("Track loading")
struct TrackLoadingTests {
    @Test(arguments: [AudioFileFormat.wav16, .wav24, .wavFloat, .flac16, .flac24, .ogg, .mp3])
    func every_format_decodes_to_the_same_tone(format: AudioFileFormat) throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let ext = ["wav16": "wav", "wav24": "wav", "wav32f": "wav", "flac16": "flac", "flac24": "flac", "ogg": "ogg", "mp3": "mp3"][format.rawValue]!
        let path = dir.appendingPathComponent("tone.\(ext)").path
        try TestAudio.write(TestAudio.sine(1000, seconds: 2, amplitude: 0.5), to: path, format: format)
        let t = try Track.load(path: path, sampleRate: 48000)
        // Lossy codecs add priming/padding; lengths within 0.1 s, and the tone's frequency and level kept.
        #expect(abs(t.duration - 2) < 0.1, "\(t.duration) s")
        let samples = t.withSamples { Array($0) }
        #expect(abs(TestAudio.frequency(samples, from: 10_000, to: 80_000) - 1000) < 0.5)
        #expect(abs(TestAudio.db(TestAudio.rms(samples, from: 10_000, to: 80_000) / (0.5 / 2.0.squareRoot()))) < 0.5)
    }

    @Test func a_44k1_mono_file_becomes_48k_stereo_with_pitch_and_length_kept() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("mono.wav").path
        let mono = (0..<(44100 * 3)).map { Float(0.4 * sin(2 * Double.pi * 441 * Double($0) / 44100)) }
        try TestAudio.write(mono, to: path, rate: 44100, channels: 1, format: .wav24)
        let t = try Track.load(path: path, sampleRate: 48000)
        #expect(t.sampleRate == 48000 && t.sourceRate == 44100 && t.sourceChannels == 1)
        #expect(abs(t.frameCount - 144_000) <= 1)
        let s = t.withSamples { Array($0) }
        #expect(abs(TestAudio.frequency(s, from: 4800, to: 139_000) - 441) < 0.05)
        #expect(s[2 * 5000] == s[2 * 5000 + 1]) // duplicated to both channels
    }

    func expectLoadError(_ path: String, _ reason: TrackLoadFailure, mentioning words: String? = nil) {
        do {
            _ = try Track.load(path: path)
            Issue.record("\(path) loaded")
        } catch let DJCoreError.trackLoad(p, r, detail) {
            #expect(p == path)
            #expect(r == reason, "\(r): \(detail)")
            if let w = words { #expect(detail.contains(w), "\(detail)") }
            #expect(DJCoreError.trackLoad(path: p, reason: r, detail: detail).description.hasPrefix(path))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func missing_unreadable_empty_garbage_truncated_and_text_files_give_named_errors() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        func file(_ name: String) -> String { dir.appendingPathComponent(name).path }

        expectLoadError(file("missing.wav"), .notFound, mentioning: "no such file")
        expectLoadError(dir.path, .unreadable, mentioning: "directory")

        FileManager.default.createFile(atPath: file("empty.wav"), contents: Data())
        expectLoadError(file("empty.wav"), .empty)

        var seed: UInt32 = 77 // deterministic bytes; the first is not an MPEG sync byte
        let garbage = (0..<4000).map { _ -> UInt8 in seed = seed &* 1664525 &+ 1013904223; return UInt8(seed >> 24) & 0x7F }
        FileManager.default.createFile(atPath: file("garbage.wav"), contents: Data(garbage))
        expectLoadError(file("garbage.wav"), .unsupported, mentioning: "not an audio file")

        FileManager.default.createFile(atPath: file("text.mp3"), contents: Data("this is not music\n".utf8))
        expectLoadError(file("text.mp3"), .unsupported, mentioning: "it is text")

        try TestAudio.write(TestAudio.sine(500, seconds: 2), to: file("whole.wav"), format: .wav16)
        let whole = try Data(contentsOf: URL(fileURLWithPath: file("whole.wav")))
        try whole.prefix(whole.count / 2).write(to: URL(fileURLWithPath: file("cut.wav")))
        expectLoadError(file("cut.wav"), .truncated, mentioning: "shorter than the header")

        try TestAudio.write(TestAudio.noise(seconds: 3), to: file("whole.flac"), format: .flac16)
        let flac = try Data(contentsOf: URL(fileURLWithPath: file("whole.flac")))
        try flac.prefix(flac.count / 2).write(to: URL(fileURLWithPath: file("cut.flac")))
        expectLoadError(file("cut.flac"), .truncated, mentioning: "decoding stopped")

        var header = whole
        header[20] = 0x55 // format tag of the fmt chunk: not PCM any more
        try header.write(to: URL(fileURLWithPath: file("badfmt.wav")))
        do {
            _ = try Track.load(path: file("badfmt.wav"))
            Issue.record("a WAV with a broken fmt chunk loaded")
        } catch let DJCoreError.trackLoad(_, reason, _) {
            #expect(reason == .corrupt || reason == .unsupported)
        }
    }

    @Test func too_long_files_are_refused_before_decoding() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("long.wav").path
        try TestAudio.write(TestAudio.sine(100, seconds: 3), to: path, format: .wav16)
        #expect(throws: DJCoreError.self) { try Track.load(path: path, maxSeconds: 1) }
    }

    @Test func writer_reports_an_unwritable_path() {
        #expect { try AudioFileWriter(path: "/nonexistent-dir/x.wav", sampleRate: 48000, format: .wav16) } throws: {
            ($0 as? DJCoreError)?.description.hasPrefix("/nonexistent-dir/x.wav") == true
        }
    }

    @Test func sixteen_bit_output_is_dithered_but_reproducible() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.wav").path, b = dir.appendingPathComponent("b.wav").path
        let quiet = TestAudio.sine(1000, seconds: 1, amplitude: 0.00002) // below 1 LSB
        try TestAudio.write(quiet, to: a, format: .wav16)
        try TestAudio.write(quiet, to: b, format: .wav16)
        #expect(try Data(contentsOf: URL(fileURLWithPath: a)) == Data(contentsOf: URL(fileURLWithPath: b)))
        let back = try Track.load(path: a).withSamples { Array($0) }
        #expect(back.contains { $0 != 0 }) // dither noise, not digital silence
    }
}
