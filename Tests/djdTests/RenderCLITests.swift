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

/// Runs `djd` to its end.
func runDJD(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    let p = Process()
    p.executableURL = djdURL()
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite("djd render")
struct RenderCLITests {
    func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("djd-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }

    /// A 1 s 16-bit WAV of a 440 Hz tone, written by hand (the CLI tests use no DJCore code).
    func writeTone(_ path: String) throws {
        let n = 48000
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + n * 2)); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(48000); u32(96000); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(n * 2))
        for i in 0..<n { u16(UInt16(bitPattern: Int16(8000 * sin(2 * Double.pi * 440 * Double(i) / 48000)))) }
        try d.write(to: URL(fileURLWithPath: path))
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
