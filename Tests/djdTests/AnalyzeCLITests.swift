import Foundation
import Testing

@Suite("djd analyze")
struct AnalyzeCLITests {
    /// 30 s of 16-bit mono at 44.1 kHz: a decaying 60 Hz thump with a click on every beat at `bpm`, from
    /// 0.25 s, over a quiet A minor triad.
    func writeBeat(_ path: String, bpm: Double) throws {
        let rate = 44100.0, n = Int(30 * rate)
        var x = [Double](repeating: 0, count: n)
        let period = 60 / bpm
        var t = 0.25
        while t < 29.8 {
            let s = Int(t * rate)
            for i in 0..<Int(0.12 * rate) where s + i < n {
                let u = Double(i) / rate
                x[s + i] += 0.6 * sin(2 * Double.pi * 60 * u) * exp(-u * 30) + (i < 44 ? 0.3 * (1 - Double(i) / 44) : 0)
            }
            t += period
        }
        for f in [220.0, 261.63, 329.63] {
            for i in 0..<n { x[i] += 0.05 * sin(2 * Double.pi * f * Double(i) / rate) }
        }
        try CLIAudio.writeWAV16(path, rate: 44100, samples: x)
    }

    @Test func json_has_tempo_beats_key_loudness_and_waveform() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("beat.wav").path
        try writeBeat(file, bpm: 126)
        let r = try runDJD(["analyze", "--json", "--cache-dir", dir.appendingPathComponent("cache").path, file])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(abs((obj["bpm"] as? Double ?? 0) - 126) <= 0.01)
        let beats = obj["beats"] as? [Double] ?? []
        #expect(abs(beats.count - Int((29.8 - 0.25) / (60.0 / 126))) <= 2)
        #expect((obj["downbeats"] as? [Double] ?? []).count >= beats.count / 4 - 1)
        #expect(obj["beatsPerBar"] as? Int == 4)
        #expect((obj["gridConfidence"] as? Double ?? 0) > 0.6)
        #expect(obj["key"] as? String == "A minor")
        #expect(obj["camelot"] as? String == "8A")
        #expect(obj["openKey"] as? String == "1m")
        let loud = try #require(obj["loudness"] as? [String: Any])
        let lufs = try #require(loud["integratedLUFS"] as? Double)
        #expect(lufs < -5 && lufs > -30)
        #expect(abs((loud["gainDB"] as? Double ?? 0) - (-14 - lufs)) < 0.02)
        let wave = try #require(obj["waveform"] as? [String: Any])
        #expect(wave["columns"] as? Int == 1024)
        #expect((wave["low"] as? [String: Any])?["peak"] as? [Double] != nil)
        #expect((obj["bpmCandidates"] as? [[String: Any]])?.first?["bpm"] as? Double == obj["bpm"] as? Double)
    }

    @Test func summary_and_second_run_from_the_cache() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("beat.wav").path
        try writeBeat(file, bpm: 100)
        let cache = dir.appendingPathComponent("cache").path
        let first = try runDJD(["analyze", "--cache-dir", cache, file])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("100.00 BPM"), "\(first.stdout)")
        #expect(first.stdout.contains("A minor (8A, 1m)"), "\(first.stdout)")
        #expect(first.stdout.contains("LUFS"))
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache)
        #expect(entries.filter { $0.hasSuffix(".json") }.count == 1)
        let second = try runDJD(["analyze", "--cache-dir", cache, file])
        #expect(second.stdout == first.stdout)
        // Another tempo range is another result, cached beside the first.
        let fast = try runDJD(["analyze", "--json", "--no-waveform", "--min-bpm", "120", "--max-bpm", "200", "--cache-dir", cache, file])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(fast.stdout.utf8)) as? [String: Any])
        #expect(obj["waveform"] == nil || obj["waveform"] is NSNull)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache).filter { $0.hasSuffix(".json") }.count == 2)
    }

    @Test func bad_files_are_named_and_the_others_still_analysed() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.wav").path
        try writeBeat(good, bpm: 128)
        let junk = dir.appendingPathComponent("junk.mp3").path
        try Data(repeating: 7, count: 3000).write(to: URL(fileURLWithPath: junk))
        let missing = dir.appendingPathComponent("missing.wav").path
        let r = try runDJD(["analyze", "--json", "--no-cache", "--no-waveform", missing, good, junk])
        #expect(r.status == 1)
        #expect(r.stderr.contains("missing.wav") && r.stderr.contains("not found"), "\(r.stderr)")
        #expect(r.stderr.contains("junk.mp3"))
        let arr = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(arr.count == 3)
        #expect(arr[0]["error"] is String && arr[2]["error"] is String)
        #expect(abs((arr[1]["bpm"] as? Double ?? 0) - 128) <= 0.01)
    }

    @Test func bad_options_are_refused() throws {
        let r = try runDJD(["analyze", "--min-bpm", "150", "--max-bpm", "160", "x.wav"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("too narrow"), "\(r.stderr)")
        let c = try runDJD(["analyze", "--columns", "0", "x.wav"])
        #expect(c.status != 0 && c.stderr.contains("columns"))
    }
}
