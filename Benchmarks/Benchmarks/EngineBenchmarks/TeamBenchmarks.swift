// Stem separation throughput and Team Service task throughput.
//
// 1. Stems: drums / bass / other of 60 s of 44.1 kHz stereo already in memory (the STFT, median
//    filters, masks and overlap-add; no file I/O). Metric: audio seconds per process CPU second.
//    No peer runs here: the neural separators (Demucs, Spleeter) need models this machine cannot fetch.
// 2. Team Service: 500 no-op tasks submitted and run to success by 2 workers through the SQLite task
//    store (synchronous=FULL: every state change is a committed, fsynced transaction). Metric: tasks per
//    second, wall clock: what the queue itself costs, whatever the tasks do.

import Benchmark
import DJCore
import Foundation
import Logging

private final class StemRig: @unchecked Sendable {
    static let seconds = 60.0
    static let rate = 44_100
    private(set) var stereo: [Float] = []
    func setUp() { stereo = makeMaterial(seconds: Self.seconds, sampleRate: Self.rate, bpm: 126, seed: 11) }
    func tearDown() { stereo = [] }
}

func registerTeamBenchmarks() {
    let rig = StemRig()
    Benchmark("Stems 60 s in memory DJCore",
              configuration: .init(metrics: [.wallClock, Metrics.analysisSpeed], timeUnits: .milliseconds,
                                   units: [Metrics.analysisSpeed: .count], warmupIterations: 1,
                                   maxDuration: .seconds(20), maxIterations: 8,
                                   thresholds: [Metrics.analysisSpeed: .init(relative: [.p50: 10, .p90: 15])],
                                   setup: { rig.setUp() }, teardown: { rig.tearDown() })) { benchmark in
        let separator = try StemSeparator()
        let cpu0 = processCPUNanos()
        let stems = try separator.separate(stereo: rig.stereo, sampleRate: StemRig.rate)
        let cpu = processCPUNanos() &- cpu0
        benchmark.stopMeasurement()
        guard stems.count == 3, stems.values.allSatisfy({ $0.count == rig.stereo.count }) else {
            benchmark.error("expected 3 stems as long as the input")
            return
        }
        benchmark.measurement(Metrics.analysisSpeed, Int((StemRig.seconds * 1e9 / Double(cpu)).rounded()))
    }

    let taskCount = 500
    Benchmark("Team Service 500 no-op tasks SQLite 2 workers",
              configuration: .init(metrics: [.wallClock, Metrics.tasksPerSecond], timeUnits: .milliseconds,
                                   units: [Metrics.tasksPerSecond: .count], warmupIterations: 0,
                                   maxDuration: .seconds(60), maxIterations: 3,
                                   thresholds: [Metrics.tasksPerSecond: .init(relative: [.p50: 25])])) { benchmark in
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("djcore-bench-team-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let team = try TeamService(store: SQLiteTaskStore(path: dir.appendingPathComponent("t.sqlite").path),
                                   configuration: TeamConfiguration(workers: 2), logger: logger)
        team.register(.effect) { _ in .null }
        try team.start()
        let t0 = DispatchTime.now().uptimeNanoseconds
        var last = 0
        for _ in 0..<taskCount { last = try team.submit(TaskSpec(kind: .effect)).id }
        while try team.task(id: last).state != .succeeded { usleep(1000) }
        var done = 0
        while done < taskCount {
            done = try team.state().counts[.succeeded] ?? 0
            if done < taskCount { usleep(1000) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        benchmark.stopMeasurement()
        _ = team.shutdown(timeout: 5)
        benchmark.measurement(Metrics.tasksPerSecond, Int((Double(taskCount) / seconds).rounded()))
    }
}
