import Foundation
import Testing

/// The built `djd` binary (it sits next to the test bundle in the build directory).
func djdURL() -> URL {
    var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("djd").path) && dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("djd")
}

/// Runs `djd` to its end (stdout and stderr read side by side, so neither pipe can fill and stall it).
func runDJD(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let r = try DJDProcess(args).finish(timeout: 300)
    return (r.status, r.stdout, r.stderr)
}

@Suite("djd render")
struct RenderCLITests {
    func tempDir() throws -> URL { try CLIAudio.tempDir() }

    /// A 1 s 16-bit WAV of a 440 Hz tone at about −12 dBFS.
    func writeTone(_ path: String) throws {
        try CLIAudio.tone(path, hz: 440, seconds: 1, amplitude: 8000.0 / 32767)
    }

    @Test func render_writes_the_mix_and_prints_a_summary() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try writeTone(dir.appendingPathComponent("t.wav").path)
        let mix = #"{"tracks": {"t": "t.wav"}, "timeline": [{"at": 0, "action": "load", "deck": 1, "track": "t"}, {"at": 0.5, "action": "play", "deck": 1}]}"#
        try mix.write(to: dir.appendingPathComponent("m.json"), atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("o.wav").path
        let cue = dir.appendingPathComponent("cue.wav").path
        let r = try runDJD(["render", dir.appendingPathComponent("m.json").path, "-o", out, "--format", "wav16",
                            "--cue-output", cue])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(FileManager.default.fileExists(atPath: cue))
        #expect(r.stdout.contains("0:01.6 at 48000 Hz"), "\(r.stdout)")
        let size = try FileManager.default.attributesOfItem(atPath: out)[.size] as? Int ?? 0
        #expect(size == 44 + Int(1.55 * 48000) * 4)
    }

    @Test func a_bad_mix_exits_2_and_names_the_entry() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mix = #"{"tracks": {}, "timeline": [{"at": 0, "action": "play", "deck": 1}, {"at": 1, "action": "spin", "deck": 1}]}"#
        try mix.write(to: dir.appendingPathComponent("m.json"), atomically: true, encoding: .utf8)
        let r = try runDJD(["render", dir.appendingPathComponent("m.json").path, "-o", dir.appendingPathComponent("o.wav").path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("timeline[1].action: unknown action 'spin'"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("o.wav").path))
    }

    @Test func a_missing_track_exits_with_the_file_name() throws {
        let dir = try tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mix = #"{"tracks": {"x": "gone.flac"}, "timeline": [{"at": 0, "action": "load", "deck": 1, "track": "x"}]}"#
        try mix.write(to: dir.appendingPathComponent("m.json"), atomically: true, encoding: .utf8)
        let r = try runDJD(["render", dir.appendingPathComponent("m.json").path, "-o", dir.appendingPathComponent("o.wav").path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("gone.flac: file not found"), "\(r.stderr)")
    }

    @Test func bad_options_are_refused() throws {
        let r = try runDJD(["render", "x.json", "-o", "o.wav", "--format", "aiff"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("'aiff' is not one of"), "\(r.stderr)")
        let r2 = try runDJD(["render", "x.json", "-o", "o.wav", "--period", "0"])
        #expect(r2.stderr.contains("--period 0 is outside"), "\(r2.stderr)")
    }
}
