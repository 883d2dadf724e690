import DJCore
import Foundation
import Testing

@Suite("Mix files")
struct MixFileTests {
    func parse(_ json: String, base: String = "/tmp") throws -> MixFile {
        try MixFile.parse(data: Data(json.utf8), baseDirectory: base)
    }

    func expectError(_ json: String, at location: String, containing words: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parse(json)
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch let e as MixFileError {
            #expect(e.location == location, "\(e)", sourceLocation: sourceLocation)
            #expect(e.message.contains(words), "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    let head = #"{"tracks": {"a": "a.wav"}, "timeline": ["#

    @Test func errors_point_at_the_offending_entry() {
        expectError(head + #"{"at": 0, "action": "play", "deck": 1}, {"at": 1, "action": "fade", "deck": 1}]}"#,
                    at: "timeline[1].action", containing: "unknown action 'fade'")
        expectError(head + #"{"at": 0, "action": "rate", "deck": 1}]}"#, at: "timeline[0].value", containing: "missing")
        expectError(head + #"{"at": 0, "action": "fader", "deck": 1, "vlaue": 1}]}"#, at: "timeline[0].vlaue", containing: "not a field of 'fader'")
        expectError(head + #"{"at": -2, "action": "play", "deck": 1}]}"#, at: "timeline[0].at", containing: "before the start")
        expectError(#"{"duration": 10, "tracks": {}, "timeline": [{"at": 12, "action": "play", "deck": 1}]}"#,
                    at: "timeline[0].at", containing: "after the end of the mix")
        expectError(head + #"{"at": 0, "action": "play", "deck": 7}]}"#, at: "timeline[0].deck", containing: "outside 1.0 ... 4.0")
        expectError(head + #"{"at": 0, "action": "load", "deck": 1, "track": "b"}]}"#, at: "timeline[0].track", containing: "no track named 'b'")
        expectError(head + #"{"at": 0, "action": "kill", "deck": 1, "band": "low", "on": 1}]}"#, at: "timeline[0].on", containing: "true or false")
        expectError(head + #"{"at": 0, "action": "eq", "deck": 1, "band": "sub", "db": 0}]}"#, at: "timeline[0].band", containing: "'sub' is not one of")
        expectError(head + #"{"at": {"beat": 16, "deck": 1}, "action": "play", "deck": 1}]}"#, at: "timeline[0].at", containing: "beat grids")
        expectError(head + #"{"at": "1:75", "action": "play", "deck": 1}]}"#, at: "timeline[0].at", containing: "not a time")
        expectError(#"{"tracks": {}, "timeline": [], "tempo": 120}"#, at: "tempo", containing: "unknown field")
        expectError(#"{"tracks": {}}"#, at: "timeline", containing: "missing")
        expectError(#"{"tracks": {}, "timeline": [1]}"#, at: "timeline[0]", containing: "must be an object")
        expectError(#"{"tracks": {}, "timeline": [], "sampleRate": 1000}"#, at: "sampleRate", containing: "outside")
        expectError(#"{"tracks": {"a": "a.wav"}, "timeline": [}"#, at: "mix", containing: "not valid JSON")
        expectError(head + #"{"at": 0, "action": "loop", "deck": 1, "start": 4, "end": 2}]}"#, at: "timeline[0].end", containing: "after start")
    }

    @Test func comments_are_allowed_and_track_paths_are_normalised() throws {
        let mix = try parse(#"{"comment": "set for friday", "tracks": {"a": "../music/./a.wav"}, "timeline": [{"at": 0, "action": "play", "deck": 1, "comment": "go"}]}"#,
                            base: "/srv/mixes")
        #expect(mix.tracks["a"] == "/srv/music/a.wav")
        #expect(mix.timeline.count == 1)
    }

    @Test func times_accept_seconds_and_minutes_colon_seconds() throws {
        let mix = try parse(head + #"{"at": "1:05.5", "action": "play", "deck": 1}, {"at": 2.25, "action": "crossfader", "value": 1, "over": 4}]}"#)
        #expect(mix.timeline.map(\.at) == [65.5, 2.25])
        #expect(mix.tracks["a"] == "/tmp/a.wav")
    }

    @Test func a_track_that_cannot_be_loaded_is_reported_with_the_action_using_it() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let mix = try parse(#"{"tracks": {"intro": "nope.wav"}, "timeline": [{"at": 3, "action": "load", "deck": 2, "track": "intro"}]}"#,
                            base: dir.path)
        #expect { try MixRenderer(mix: mix).loadTracks() } throws: { error in
            guard let e = error as? MixFileError else { return false }
            return e.location == "tracks.intro (used by timeline[0])" && e.message.contains("nope.wav") && e.message.contains("file not found")
        }
    }

    @Test func a_mix_renders_to_a_file_of_the_expected_length() throws {
        let dir = try TestAudio.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try TestAudio.write(TestAudio.sine(440, seconds: 3, rate: 44100), to: dir.appendingPathComponent("a.wav").path, rate: 44100, format: .wav16)
        try TestAudio.write(TestAudio.sine(660, seconds: 2), to: dir.appendingPathComponent("b.flac").path, format: .flac24)
        let json = #"""
        {"format": "djcore-mix/1", "tracks": {"a": "a.wav", "b": "b.flac"},
         "crossfaderCurve": "constant-power",
         "timeline": [
           {"at": 0, "action": "load", "deck": 1, "track": "a"},
           {"at": 0, "action": "load", "deck": 2, "track": "b"},
           {"at": 0, "action": "assign", "deck": 1, "side": "A"},
           {"at": 0, "action": "assign", "deck": 2, "side": "B"},
           {"at": 0, "action": "crossfader", "value": -1, "over": 0},
           {"at": 0, "action": "play", "deck": 1},
           {"at": 1.5, "action": "play", "deck": 2},
           {"at": 1.5, "action": "crossfader", "value": 1, "over": 1}
         ]}
        """#
        let mixPath = dir.appendingPathComponent("mix.json").path
        try json.write(toFile: mixPath, atomically: true, encoding: .utf8)
        let mix = try MixFile.load(path: mixPath)
        let out = dir.appendingPathComponent("out.wav").path
        let summary = try MixRenderer(mix: mix, periodFrames: 512).render(to: out, format: .wavFloat)
        // Deck 2 starts at 1.5 s and plays 2 s: 3.5 s plus the 50 ms tail.
        #expect(abs(summary.seconds - 3.55) < 0.01)
        #expect(summary.events.contains(.trackEnded(deck: 2, frame: UInt64(3.5 * 48000))) || summary.events.contains { if case .trackEnded(2, _) = $0 { true } else { false } })
        let back = try Track.load(path: out).withSamples { Array($0) }
        #expect(abs(TestAudio.frequency(back, from: 10_000, to: 60_000) - 440) < 0.5)
        #expect(abs(TestAudio.frequency(back, from: 140_000, to: 160_000) - 660) < 1)
    }
}
