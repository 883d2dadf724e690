import Foundation
import Testing

let liveDeviceAvailable = ProcessInfo.processInfo.environment["DJCORE_TEST_ALSA"] == "1"

/// A running `djd`, for tests that signal it or watch it while it runs.
final class DJDProcess: @unchecked Sendable {
    let process = Process()
    private let out = Pipe(), err = Pipe()
    private var outData = Data(), errData = Data()
    private let group = DispatchGroup()

    init(_ args: [String], environment: [String: String] = [:]) throws {
        process.executableURL = djdURL()
        process.arguments = args
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = out
        process.standardError = err
        try process.run()
        for (pipe, isOut) in [(out, true), (err, false)] {
            group.enter()
            DispatchQueue.global().async { [self] in
                let d = pipe.fileHandleForReading.readDataToEndOfFile()
                if isOut { outData = d } else { errData = d }
                group.leave()
            }
        }
    }

    func signal(_ s: Int32) { kill(process.processIdentifier, s) }

    /// Waits up to `timeout` seconds for the exit; kills it (and fails) after that.
    func finish(timeout: Double) -> (status: Int32, stdout: String, stderr: String, seconds: Double) {
        let t0 = Date()
        while process.isRunning && Date().timeIntervalSince(t0) < timeout { usleep(10_000) }
        if process.isRunning {
            Issue.record("djd did not exit within \(timeout) s")
            process.terminate()
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        group.wait()
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self),
                Date().timeIntervalSince(t0))
    }
}

/// Test material: mono 16-bit WAV tones, written by hand (the CLI tests use no DJCore code).
enum CLIAudio {
    static func tone(_ path: String, hz: Double, seconds: Double, amplitude: Double = 0.25) throws {
        let n = Int(seconds * 48000)
        try writeWAV16(path, rate: 48000, samples: (0..<n).map { amplitude * sin(2 * Double.pi * hz * Double($0) / 48000) })
    }

    /// A 16-bit mono WAV of `samples` (full scale = 1, clipped).
    static func writeWAV16(_ path: String, rate: Int, samples: [Double]) throws {
        let n = samples.count
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8)); u32(UInt32(36 + n * 2)); d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16); u16(1); u16(1); u32(UInt32(rate)); u32(UInt32(rate * 2)); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(UInt32(n * 2))
        for v in samples { u16(UInt16(bitPattern: Int16(max(-32767, min(32767, 32767 * v))))) }
        try d.write(to: URL(fileURLWithPath: path))
    }

    /// Interleaved stereo float from a raw capture.
    static func readFloat(_ path: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }

    /// Left channel frequency over [from, to) frames from rising zero crossings.
    static func frequency(_ x: [Float], from: Int, to: Int) -> Double {
        var first: Double?, last = 0.0, count = 0
        for i in from..<(to - 1) where x[2 * i] < 0 && x[2 * i + 2] >= 0 {
            let t = Double(i) + Double(-x[2 * i] / (x[2 * i + 2] - x[2 * i]))
            if first == nil { first = t } else { count += 1; last = t }
        }
        guard let f = first, count > 0 else { return 0 }
        return Double(count) / ((last - f) / 48000)
    }

    static func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("djd-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}

@Suite("djd play / devices / latency without a device")
struct LiveCLIErrorTests {
    @Test func play_on_a_missing_device_says_so_and_lists_the_devices() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = dir.appendingPathComponent("t.wav").path
        try CLIAudio.tone(t, hz: 440, seconds: 0.5)
        let r = try runDJD(["play", t, "--device", "djcore_missing_device"])
        #expect(r.status == 3)
        #expect(r.stderr.contains("cannot open sound device 'djcore_missing_device': no such device"), "\(r.stderr)")
        #expect(r.stderr.contains("Playback devices ALSA knows"))
        #expect(r.stderr.contains("null"))
    }

    @Test(arguments: [
        (["play"], "Missing expected argument '<files> ...'"),
        (["play", "x.wav", "--period", "fast"], "--period 'fast'"),
        (["play", "x.wav", "--crossfade=-2"], "--crossfade -2.0 is outside"),
        (["play", "x.wav", "--format", "S20"], "--format 'S20'"),
        (["latency", "--seconds", "0"], "--seconds 0.0 is outside"),
        (["latency", "--decks", "9"], "--decks 9 is outside"),
    ])
    func absurd_options_are_refused(_ args: [String], _ message: String) throws {
        let r = try runDJD(args)
        #expect(r.status != 0)
        #expect(r.stderr.contains(message), "\(r.stderr)")
    }

    /// Without CAP_SYS_NICE (as a normal user) SCHED_FIFO is refused: said once, and it still plays.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.fileExists(atPath: "/usr/bin/setpriv"), "needs root, setpriv and prlimit"))
    func a_refused_realtime_priority_is_said_once_and_playback_goes_on() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = dir.appendingPathComponent("t.wav").path
        try CLIAudio.tone(t, hz: 440, seconds: 0.5)
        let djd = djdURL().path
        let p = Process()
        // no capabilities and an rtprio limit of 0: what a normal user has
        p.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
        p.arguments = ["--rtprio=0:0", "--memlock=65536:65536", "/usr/bin/setpriv", "--bounding-set", "-sys_nice,-ipc_lock", "--inh-caps", "-sys_nice,-ipc_lock", djd, "play", t,
                       "--device", "null", "--crossfade", "0"]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(e)")
        #expect(e.components(separatedBy: "real-time scheduling refused").count == 2, "\(e)")
        #expect(e.contains("SCHED_FIFO priority 70"))
        #expect(e.contains("1 of 1 files played"))
    }
}

@Suite("djd play / devices / latency on the virtual device",
       .enabled(if: liveDeviceAvailable, "needs scripts/virtual-audio.sh (DJCORE_TEST_ALSA=1)"))
struct LiveCLITests {
    @Test func devices_lists_the_virtual_cards_with_their_capabilities() throws {
        let r = try runDJD(["devices"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("djcore_jack4"))
        #expect(r.stdout.contains("ioplug, channels 4, rates 48k, formats FLOAT_LE"), "\(r.stdout)")
        let j = try runDJD(["devices", "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [[String: Any]]
        #expect(list?.contains { ($0["name"] as? String) == "djcore_jack2" } == true)
    }

    /// Two files, crossfaded, recorded by the capture device: the first tone, then the second, in the time
    /// the two take minus the crossfade.
    @Test func play_crossfades_from_one_file_to_the_next() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.wav").path, b = dir.appendingPathComponent("b.wav").path
        let raw = dir.appendingPathComponent("out.raw").path
        try CLIAudio.tone(a, hz: 440, seconds: 1.5)
        try CLIAudio.tone(b, hz: 660, seconds: 1.5)
        let p = try DJDProcess(["play", a, b, "--device", "djcore_capture:FILE=\(raw)", "--crossfade", "0.5", "--format", "float"])
        let r = p.finish(timeout: 15)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("now playing 1/2"))
        #expect(r.stdout.contains("now playing 2/2"))
        #expect(r.stderr.contains("done — 2 of 2 files played, 0 underruns"), "\(r.stderr)")
        #expect(r.seconds > 2.3 && r.seconds < 4.5, "took \(r.seconds) s")
        let x = try CLIAudio.readFloat(raw)
        let frames = x.count / 2
        // first sound, then 2.5 s of music (1.5 + 1.5 − 0.5), then silence
        guard let start = (0..<frames).first(where: { abs(x[2 * $0]) > 0.01 }) else {
            Issue.record("nothing was played")
            return
        }
        #expect(frames - start >= 2 * 48000 + 48000 / 2)
        #expect(abs(CLIAudio.frequency(x, from: start + 4800, to: start + 40000) - 440) < 2)
        #expect(abs(CLIAudio.frequency(x, from: start + 110_000, to: start + 115_000) - 660) < 3)
        let mid = start + 48000 * 5 / 4  // inside the crossfade: both tones, no dip to silence
        var peak: Float = 0
        for i in mid..<(mid + 2400) { peak = max(peak, abs(x[2 * i])) }
        #expect(peak > 0.15)
        #expect(x.allSatisfy { abs($0) <= 1 })
    }

    /// SIGTERM in the middle of a track: a short fade to silence, no cut, a clean exit.
    @Test func sigterm_fades_out_and_exits_cleanly() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("long.wav").path
        let raw = dir.appendingPathComponent("out.raw").path
        try CLIAudio.tone(a, hz: 440, seconds: 20)
        let p = try DJDProcess(["play", a, "--device", "djcore_capture:FILE=\(raw)", "--format", "float"])
        usleep(1_500_000)
        p.signal(SIGTERM)
        let r = p.finish(timeout: 5)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("stopped — 1 of 1 files played"), "\(r.stderr)")
        let x = try CLIAudio.readFloat(raw)
        let frames = x.count / 2
        #expect(frames > 48000 && frames < 5 * 48000)
        guard let last = (0..<frames).last(where: { abs(x[2 * $0]) > 0.0025 }) else {
            Issue.record("nothing was played")
            return
        }
        // the tone was 0.25 peak; over the 20 ms before it fell silent it was already fading
        var windowPeak: Float = 0
        for i in max(0, last - 960)...last { windowPeak = max(windowPeak, abs(x[2 * i])) }
        var steadyPeak: Float = 0
        for i in (last - 9600)..<(last - 4800) { steadyPeak = max(steadyPeak, abs(x[2 * i])) }
        #expect(steadyPeak > 0.2)
        #expect(windowPeak < 0.6 * steadyPeak, "ended at \(windowPeak) from \(steadyPeak): a cut, not a fade")
        #expect(last < frames - 480, "the recording ends in sound")
    }

    @Test func a_file_that_cannot_be_loaded_is_skipped() throws {
        let dir = try CLIAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("good.wav").path
        let text = dir.appendingPathComponent("notes.mp3").path
        try CLIAudio.tone(good, hz: 440, seconds: 0.5)
        try "not audio at all".write(toFile: text, atomically: true, encoding: .utf8)
        let missing = dir.appendingPathComponent("missing.wav").path
        let r = try runDJD(["play", missing, text, good, "--device", "djcore_jack2", "--crossfade", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("skipping \(missing): \(missing): file not found"), "\(r.stderr)")
        #expect(r.stderr.contains("skipping \(text)"))
        #expect(r.stderr.contains("1 of 3 files played"))
        #expect(r.stdout.contains("now playing 3/3"))
    }

    @Test func nothing_playable_exits_with_an_error() throws {
        let r = try runDJD(["play", "/nonexistent/a.wav", "--device", "djcore_jack2"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("0 of 1 files played"), "\(r.stderr)")
    }

    @Test func latency_reports_load_underruns_and_command_latency() throws {
        let r = try runDJD(["latency", "--device", "djcore_jack2", "--seconds", "2", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let j = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(j["periodFrames"] as? Int == 256)
        #expect(j["bufferFrames"] as? Int == 768)
        #expect((j["periodsRendered"] as? Int ?? 0) > 300)
        #expect(j["stamped"] as? Int == j["stampedExact"] as? Int)
        #expect((j["stamped"] as? Int ?? 0) > 5)
        let lat = j["commandToHeard"] as? [String: Any] ?? [:]
        // a command sent "now" is heard after at most the buffer, the next period boundary and the look-ahead
        #expect((lat["count"] as? Int ?? 0) > 5)
        #expect((lat["maxFrames"] as? Double ?? 1e9) <= 768 + 256 + 95 + 64)
        #expect((lat["minFrames"] as? Double ?? 0) >= 95)
    }

    /// The JACK server dies under a playing djd and comes back: djd says so, retries with back-off and
    /// plays on. (A second JACK server of its own, in a child process: one process can be a client of only
    /// one JACK server, and the other tests use the main one.)
    @Test func a_device_that_disappears_is_reopened_with_backoff() throws {
        let server = "djcore-failtest"  // fixed: JACK reclaims a dead server's registry slot only under the same name
        func answers() -> Bool {
            let w = Process()
            w.executableURL = URL(fileURLWithPath: "/usr/bin/jack_wait")
            w.arguments = ["-s", server, "-c"]
            w.environment = ["JACK_NO_START_SERVER": "1", "PATH": "/usr/bin:/bin"]
            let out = Pipe()
            w.standardOutput = out
            w.standardError = FileHandle.nullDevice
            guard (try? w.run()) != nil else { return false }
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            w.waitUntilExit()
            return text.hasPrefix("running")
        }
        func startServer() throws -> Process {
            for _ in 0..<10 {
                let j = Process()
                j.executableURL = URL(fileURLWithPath: "/usr/bin/jackd")
                j.arguments = ["--no-mlock", "-n", server, "-d", "dummy", "-r", "48000", "-p", "256"]
                j.environment = ["JACK_NO_AUDIO_RESERVATION": "1", "JACK_NO_START_SERVER": "1", "PATH": "/usr/bin:/bin"]
                j.standardOutput = FileHandle.nullDevice
                j.standardError = FileHandle.nullDevice
                try j.run()
                // ready when it answers; a killed server lingers ~1 s ("already active"): then try again
                let deadline = Date().addingTimeInterval(10)
                while j.isRunning && Date() < deadline {
                    if answers() { return j }
                    usleep(100_000)
                }
                if j.isRunning { kill(j.processIdentifier, SIGKILL) }
                j.waitUntilExit()
                usleep(300_000)
            }
            throw CocoaError(.featureUnsupported)
        }
        var jack = try startServer()
        defer { if jack.isRunning { kill(jack.processIdentifier, SIGKILL); jack.waitUntilExit() } }
        let p = try DJDProcess(["latency", "--device", "djcore_jack2", "--seconds", "7", "--decks", "2", "--json"],
                               environment: ["JACK_DEFAULT_SERVER": server])
        usleep(2_000_000)
        kill(jack.processIdentifier, SIGKILL)
        jack.waitUntilExit()
        usleep(1_500_000)
        jack = try startServer()
        let r = p.finish(timeout: 20)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("sound device 'djcore_jack2' stopped taking audio"), "\(r.stderr)")
        #expect(r.stderr.contains("reopen attempt 1 failed"), "\(r.stderr)")
        #expect(r.stderr.contains("sound device 'djcore_jack2' reopened"), "\(r.stderr)")
        let j = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(j["deviceFailures"] as? Int == 1)
        #expect(j["state"] as? String == "running")
        // about 7 s minus the ~2.5 s outage of periods of 256 frames
        #expect((j["periodsRendered"] as? Int ?? 0) > Int(3.5 * 48000 / 256))
    }
}
