import DJCore
import Foundation
import Testing

/// The "Using the library" example of the README, kept compiling and running.
@Suite("README example")
struct ReadmeExampleTests {
    @Test func the_library_example_runs_and_writes_a_minute_of_audio() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let aPath = dir.appendingPathComponent("a.flac").path
        try TestAudio.write(TestAudio.sine(330, seconds: 70, rate: 44100), to: aPath, rate: 44100, format: .flac16)
        let outPath = dir.appendingPathComponent("out.wav").path

        // --- as in the README ---
        let engine = try Engine(configuration: EngineConfiguration(sampleRate: 48000, decks: 4))
        let a = try Track.load(path: aPath, sampleRate: 48000)
        try engine.send([.load(deck: 1, track: a), .assign(deck: 1, .a), .play(deck: 1)])
        try engine.send(.eq(deck: 1, band: .low, db: -.infinity, .frames(24000)), at: 96_000)
        try engine.send(.rate(deck: 1, 1.02))

        let renderer = try OfflineRenderer(engine: engine, periodFrames: 256)
        let writer = try AudioFileWriter(path: outPath, sampleRate: 48000, format: .wav24)
        try renderer.render(frames: 48000 * 60, timeline: [], output: { master, _ in try writer.write(master) })
        try writer.close()

        let state = engine.state()
        let events = engine.pollEvents()
        // ---
        #expect(writer.framesWritten == 48000 * 60)
        #expect(abs(state.decks[0].position - 48000 * 60 * 1.02) < 1)
        #expect(state.decks[0].kills == [false, false, false] && state.decks[0].eqDb[0] == -.infinity)
        #expect(events.isEmpty)
    }
}
