import Foundation
import Testing
@testable import PostgateConnectors

@Suite struct SkipWindowTests {
    let utc = TimeZone(identifier: "UTC")!

    @Test func parsesAndPrintsWindows() throws {
        let window = try #require(SkipWindow("02:00-04:30"))
        #expect(window.start == 120 && window.end == 270)
        #expect(window.description == "02:00-04:30")
        for bad in ["", "2:00-04:00", "02:00-02:00", "24:00-01:00", "02:60-03:00", "02:00", "02:00-03:00-04:00", "aa:bb-cc:dd"] {
            #expect(SkipWindow(bad) == nil, "\(bad)")
        }
    }

    @Test func windowPassingMidnightCoversBothSides() throws {
        let window = try #require(SkipWindow("22:00-02:00"))
        #expect(window.contains(minute: 23 * 60))
        #expect(window.contains(minute: 60))
        #expect(!window.contains(minute: 2 * 60))
        #expect(!window.contains(minute: 12 * 60))
    }

    @Test func endIsTheEndOfTheWindowInItsTimeZone() throws {
        let berlin = try #require(TimeZone(identifier: "Europe/Berlin"))
        let windows = [try #require(SkipWindow("02:00-04:00"))]
        // 2026-01-15 01:30 UTC is 02:30 in Berlin (UTC+1): inside, ends 04:00 Berlin = 03:00 UTC.
        let inside = Date(timeIntervalSince1970: 1_768_440_600)
        let end = try #require(SkipWindow.end(of: windows, at: inside, in: berlin))
        #expect(abs(end.timeIntervalSince1970 - 1_768_446_000) < 0.001)
        // The same moment is 01:30 in UTC: outside.
        #expect(SkipWindow.end(of: windows, at: inside, in: utc) == nil)
    }

    @Test func chainedWindowsEndAtTheLastEnd() throws {
        let windows = [try #require(SkipWindow("01:00-02:00")), try #require(SkipWindow("02:00-03:00"))]
        let at = Date(timeIntervalSince1970: 90 * 60)  // 1970-01-01 01:30 UTC
        // Dates count from 2001, so a moment from 1970 may differ in the last bits.
        let end = try #require(SkipWindow.end(of: windows, at: at, in: utc))
        #expect(abs(end.timeIntervalSince1970 - 3 * 3600) < 0.001)
    }
}

@Suite struct FetchScheduleTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    func schedule(maxTries: Int = 3, skip: [String] = []) -> FetchSchedule {
        FetchSchedule(policy: .init(maxTries: maxTries, coolOff: 600, pollInterval: 60, retryDelay: 5,
                                    skipWindows: skip.compactMap(SkipWindow.init)))
    }

    @Test func successPollsAfterTheInterval() {
        var s = schedule()
        #expect(s.decide(now: start) == .attempt)
        #expect(s.phase == .connecting)
        s.succeeded(now: start)
        #expect(s.phase == .idle)
        #expect(s.decide(now: start.addingTimeInterval(30)) == .wait(until: start.addingTimeInterval(60)))
        #expect(s.decide(now: start.addingTimeInterval(60)) == .attempt)
    }

    @Test func failuresBackOffThenCoolOffThenFail() {
        var s = schedule(maxTries: 2)
        var now = start
        #expect(s.decide(now: now) == .attempt)
        s.failed("connection refused", now: now)
        #expect(s.phase == .failing && s.tries == 1 && s.lastError == "connection refused")
        #expect(s.decide(now: now) == .wait(until: now.addingTimeInterval(5)))
        now = now.addingTimeInterval(5)
        #expect(s.decide(now: now) == .attempt)
        s.failed("connection refused", now: now)
        // Second failure of two: cooling off for ten minutes.
        #expect(s.phase == .coolingOff)
        #expect(s.coolingUntil == now.addingTimeInterval(600))
        #expect(s.decide(now: now.addingTimeInterval(1)) == .wait(until: now.addingTimeInterval(600)))
        #expect(s.phase == .coolingOff)
        now = now.addingTimeInterval(600)
        #expect(s.decide(now: now) == .attempt)
        #expect(s.tries == 0)
        s.failed("connection refused", now: now)
        now = now.addingTimeInterval(5)
        #expect(s.decide(now: now) == .attempt)
        s.failed("authentication failed", now: now)
        #expect(s.phase == .failed)
        #expect(s.decide(now: now.addingTimeInterval(86_400)) == .stop)
        s.reset()
        #expect(s.decide(now: now) == .attempt)
    }

    @Test func successEndsTheFailureRun() {
        var s = schedule(maxTries: 2)
        _ = s.decide(now: start)
        s.failed("timeout", now: start)
        _ = s.decide(now: start.addingTimeInterval(5))
        s.succeeded(now: start.addingTimeInterval(5))
        #expect(s.tries == 0 && s.lastError == nil && s.phase == .idle)
        _ = s.decide(now: start.addingTimeInterval(65))
        s.failed("timeout", now: start.addingTimeInterval(65))
        #expect(s.phase == .failing)
    }

    @Test func retryDelayDoublesUpToThePollInterval() {
        var s = schedule(maxTries: 10)
        var now = start
        var delays: [TimeInterval] = []
        for _ in 0..<6 {
            guard case .attempt = s.decide(now: now) else { Issue.record("expected an attempt"); return }
            s.failed("x", now: now)
            guard case .wait(let until) = s.decide(now: now) else { Issue.record("expected a wait"); return }
            delays.append(until.timeIntervalSince(now))
            now = until
        }
        #expect(delays == [5, 10, 20, 40, 60, 60])
    }

    @Test func nothingConnectsInsideASkipWindow() {
        // 1970-01-12 13:46:40 UTC; a window around it.
        var s = schedule(skip: ["13:00-14:00"])
        let end = Date(timeIntervalSince1970: 1_000_800)
        #expect(s.decide(now: start) == .wait(until: end))
        #expect(s.phase == .skipped)
        #expect(s.decide(now: end) == .attempt)
    }
}
