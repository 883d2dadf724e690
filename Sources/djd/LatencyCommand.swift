import ArgumentParser
import DJCore
import Foundation

struct LatencyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latency",
        abstract: "Measure the live path on a sound device: render load, underruns, command-to-output latency.",
        discussion: """
            Plays 4 decks of generated dance music (two at rate 1.0, two at 1.03 through the varispeed \
            converter, EQ and filters engaged) for --seconds, and sends mixer commands at random moments, \
            as a DJ's controller would. Half go "now" (they take effect at the next period); half carry a time \
            stamp a few periods ahead (they must take effect exactly at it). Reports:
              - what the device granted and its buffer latency;
              - periods, underruns, the worst period render time, render load percentiles;
              - command -> heard latency for "now" commands: applied frame + limiter look-ahead − the frame \
            being heard when the command was sent (from ALSA's delay after each write);
              - stamped commands that took effect exactly at their stamp.
            scripts/soak.sh runs this for 10 minutes at 256, 128 and 64 frames with both cores busy.
            """
    )

    @OptionGroup var output: OutputOptions

    @Option(help: "How long to run, in seconds (1 ... 86400).")
    var seconds = 10.0

    @Option(help: "Decks playing (1 ... 4).")
    var decks = 4

    @Option(name: .customLong("commands-per-second"), help: "Mixer commands sent per second (0 ... 1000).")
    var commandsPerSecond = 20.0

    @Option(name: .customLong("stall-ms"), help: "Fault injection: stall the audio thread this long once, halfway through.")
    var stallMs: Int?

    @Flag(help: "One JSON object instead of text.")
    var json = false

    func validate() throws {
        guard (1...86400).contains(seconds) else { throw ValidationError("--seconds \(seconds) is outside 1 ... 86400") }
        guard (1...4).contains(decks) else { throw ValidationError("--decks \(decks) is outside 1 ... 4") }
        guard (0...1000).contains(commandsPerSecond) else { throw ValidationError("--commands-per-second \(commandsPerSecond) is outside 0 ... 1000") }
        if let s = stallMs { guard (1...10000).contains(s) else { throw ValidationError("--stall-ms \(s) is outside 1 ... 10000") } }
    }

    func run() throws {
        let device = try output.open(sampleRate: 48000)
        let rate = device.info.sampleRate
        var config = OutputOptions.engineConfiguration(for: device, decks: 4)
        config.reportsAppliedCommands = true
        let engine = try Engine(configuration: config)
        let notices = NoticeBox()
        let meterBox = Locked<CommandLatencyMeter?>(nil)
        let scheduler = try AudioScheduler(engine: engine, output: device, onEvent: { e in
            if let m = e.notice { notices.add(m) }
        }, onEngineEvents: { events in meterBox.withLock { $0?.absorb(events) } })
        let meter = CommandLatencyMeter(scheduler: scheduler)
        meterBox.withLock { $0 = meter }

        // 4 decks of generated material, looping, EQ and filters engaged
        let seconds16 = 16.0
        for d in 1...decks {
            let track = try Track(interleavedStereo: syntheticDanceLoop(seconds: seconds16, bpm: 120 + Double(d) * 2, seed: UInt32(d), rate: rate),
                                  sampleRate: rate, name: "generated deck \(d)")
            try engine.send([.load(deck: d, track: track), .loop(deck: d, start: 0, end: track.frameCount),
                             .rate(deck: d, d > 2 ? 1.03 : 1.0), .eq(deck: d, band: .low, db: -6), .eq(deck: d, band: .high, db: 2),
                             .filter(deck: d, d % 2 == 0 ? 0.25 : -0.3), .assign(deck: d, d % 2 == 0 ? .b : .a),
                             .fader(deck: d, 0.7), .play(deck: d)])
        }
        try engine.send(.crossfader(0.2))
        try scheduler.start()
        let started = Date()
        var rng = SystemRandomNumberGenerator()
        var sent = 0
        var stalled = false
        let stop = StopSignal()
        while Date().timeIntervalSince(started) < seconds && stop.received == 0 {
            if commandsPerSecond > 0 {
                let mean = 1 / commandsPerSecond
                usleep(UInt32(max(0.001, Double.random(in: 0.2 * mean ... 1.8 * mean, using: &rng)) * 1e6))
                let d = Int.random(in: 1...decks, using: &rng)
                let cmd: EngineCommand = [
                    .fader(deck: d, Double.random(in: 0.5...0.9, using: &rng)),
                    .eq(deck: d, band: .mid, db: Double.random(in: -6...3, using: &rng)),
                    .filter(deck: d, Double.random(in: -0.4...0.4, using: &rng)),
                    .crossfader(Double.random(in: -0.5...0.5, using: &rng)),
                ][sent % 4]
                if sent % 2 == 0 {
                    _ = try meter.send(cmd)
                } else {
                    let ahead = UInt64(device.info.periodFrames * Int.random(in: 2...6, using: &rng) + Int.random(in: 0..<device.info.periodFrames, using: &rng))
                    _ = try meter.send(cmd, at: engine.frame + ahead)
                }
                sent += 1
            } else {
                usleep(50_000)
            }
            if let ms = stallMs, !stalled, Date().timeIntervalSince(started) >= seconds / 2 {
                scheduler.injectStall(milliseconds: ms)
                stalled = true
            }
        }
        let wall = Date().timeIntervalSince(started)
        usleep(200_000)  // let the last commands be applied and reported
        let report = meter.report
        let stats = scheduler.stats
        scheduler.stop(fadeOut: 0.05)
        printReport(stats: stats, report: report, wall: wall, notices: notices.all)
    }

    private func printReport(stats: AudioSchedulerStats, report: CommandLatencyMeter.Report, wall: Double, notices: [String]) {
        let o = stats.output
        let rate = Double(o.sampleRate)
        func ms(_ frames: Double) -> Double { frames / rate * 1000 }
        if json {
            var obj: [String: Any] = [
                "device": o.device, "sampleRate": o.sampleRate, "format": o.format, "channels": o.channels,
                "periodFrames": o.periodFrames, "bufferFrames": o.bufferFrames, "periods": o.periods,
                "bufferLatencyMs": o.bufferLatency * 1000, "seconds": wall, "decks": decks,
                "periodsRendered": stats.periods, "underruns": stats.underruns, "deviceFailures": stats.deviceFailures,
                "reopenAttempts": stats.reopenAttempts, "state": stats.state.rawValue,
                "realtime": stats.realtime ?? false, "memoryLocked": stats.memoryLocked,
                "renderMeanMs": stats.renderMean * 1000, "renderMaxMs": stats.renderMax * 1000,
                "loadP50": stats.loadPercentile(0.5), "loadP99": stats.loadPercentile(0.99), "loadMax": stats.maxLoad,
                "stamped": report.stamped, "stampedExact": report.stampedExact, "unapplied": report.unapplied,
                "notices": notices,
            ]
            func dist(_ d: CommandLatencyMeter.Distribution) -> [String: Any] {
                ["count": d.count, "minFrames": d.min, "p50Frames": d.p50, "p90Frames": d.p90, "p99Frames": d.p99,
                 "maxFrames": d.max, "meanFrames": d.mean, "p50Ms": ms(d.p50), "p99Ms": ms(d.p99), "maxMs": ms(d.max)]
            }
            obj["commandToHeard"] = dist(report.latency)
            obj["commandWait"] = dist(report.wait)
            let data = try! JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(String(format: "device %@ (%@): %d Hz %@, %d channels, period %d frames × %d = %d frames (%.1f ms)",
                     o.device, o.deviceType, o.sampleRate, o.format, o.channels, o.periodFrames, o.periods,
                     o.bufferFrames, o.bufferLatency * 1000))
        print(String(format: "ran %.1f s, %d decks playing: %llu periods, %llu underruns, %d device failures; SCHED_FIFO %@, memory locked %@",
                     wall, decks, stats.periods, stats.underruns, stats.deviceFailures,
                     stats.realtime == true ? "yes" : "no", stats.memoryLocked ? "yes" : "no"))
        print(String(format: "render per period: mean %.3f ms, worst %.3f ms; load p50 %.1f %%, p99 %.1f %%, worst %.1f %% of %.2f ms",
                     stats.renderMean * 1000, stats.renderMax * 1000, stats.loadPercentile(0.5) * 100,
                     stats.loadPercentile(0.99) * 100, stats.maxLoad * 100, stats.periodSeconds * 1000))
        let l = report.latency, w = report.wait
        print(String(format: "command -> heard (%d sent now): min %.0f, p50 %.0f, p90 %.0f, p99 %.0f, max %.0f frames (p50 %.1f ms, max %.1f ms)",
                     l.count, l.min, l.p50, l.p90, l.p99, l.max, ms(l.p50), ms(l.max)))
        print(String(format: "  of which waiting for the next render: p50 %.0f, max %.0f frames; device buffer + look-ahead: the rest",
                     w.p50, w.max))
        print("stamped commands: \(report.stampedExact) of \(report.stamped) took effect exactly at their stamp"
              + (report.unapplied > 0 ? "; \(report.unapplied) never reported" : ""))
    }
}

/// Scheduler notices, printed on stderr as they happen and kept for the report.
final class NoticeBox: @unchecked Sendable {
    private let items = Locked<[String]>([])
    func add(_ s: String) {
        items.withLock { $0.append(s) }
        FileHandle.standardError.write(Data("djd latency: \(s)\n".utf8))
    }
    var all: [String] { items.withLock { $0 } }
}

/// A loop of generated dance music: kick on the beat, off-beat hi-hat, a bass line, a noise bed.
func syntheticDanceLoop(seconds: Double, bpm: Double, seed: UInt32, rate: Int) -> [Float] {
    let n = Int(seconds * Double(rate))
    var out = [Float](repeating: 0, count: n * 2)
    let beat = 60 / bpm * Double(rate)
    var s = seed &* 747_796_405 &+ 2_891_336_453
    func noise() -> Float {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5
        return Float(s) / Float(UInt32.max) * 2 - 1
    }
    var phase = 0.0
    for i in 0..<n {
        let t = Double(i)
        let inBeat = t.truncatingRemainder(dividingBy: beat)
        let kickT = inBeat / Double(rate)
        let kick = sin(2 * .pi * (50 * kickT + 60 * (1 - exp(-kickT * 30)) / 30)) * exp(-kickT * 8)
        let hatT = (inBeat - beat / 2) / Double(rate)
        let hat = hatT >= 0 ? Double(noise()) * exp(-hatT * 60) * 0.25 : 0
        let bassF = [55.0, 55, 65.4, 49][Int(t / beat / 4) % 4]
        phase += bassF / Double(rate)
        let bass = (phase.truncatingRemainder(dividingBy: 1) * 2 - 1) * 0.2
        let bed = Double(noise()) * 0.03
        let l = tanh(kick * 0.8 + hat + bass + bed)
        let r = tanh(kick * 0.8 + hat * 0.8 + bass + Double(noise()) * 0.03)
        out[2 * i] = Float(l * 0.7)
        out[2 * i + 1] = Float(r * 0.7)
    }
    return out
}
