import Foundation
import Logging
import Testing
@testable import PostgateLogging

@Suite struct LogLineFormatTests {
    private let time = Date(timeIntervalSince1970: 1_796_654_300.125)

    @Test func logfmtLeavesPlainValuesBareAndSortsTheMetadata() {
        let line = LogLineFormat.logfmt.line(time: time, level: .info, message: "delivered",
                                             metadata: ["queue_id": "N5Q2ABC", "from": "alice@example.com", "size": "1234"])
        #expect(line == "time=2026-12-07T14:38:20.125Z level=info msg=delivered from=alice@example.com queue_id=N5Q2ABC size=1234")
    }

    @Test func logfmtQuotesSpacesQuotesEqualsAndEmptyValues() {
        #expect(LogLineFormat.logfmtValue("") == "\"\"")
        #expect(LogLineFormat.logfmtValue("two words") == "\"two words\"")
        #expect(LogLineFormat.logfmtValue("a=b") == "\"a=b\"")
        #expect(LogLineFormat.logfmtValue(#"say "hi""#) == #""say \"hi\"""#)
        #expect(LogLineFormat.logfmtValue(#"C:\path"#) == #""C:\\path""#)
        #expect(LogLineFormat.logfmtValue("Grüße") == "Grüße")
    }

    @Test func logfmtNeverLetsAValueBreakTheLine() {
        let line = LogLineFormat.logfmt.line(time: time, level: .error, message: "bad\r\nlevel=critical fake=1",
                                             metadata: ["reply": "550 5.1.1 no\nsuch\tuser\u{1}\u{7F}"])
        #expect(!line.contains("\n") && !line.contains("\r"))
        #expect(line == #"time=2026-12-07T14:38:20.125Z level=error msg="bad\r\nlevel=critical fake=1" reply="550 5.1.1 no\nsuch\tuser\u0001\u007f""#)
    }

    @Test func logfmtKeysAreBareWords() {
        #expect(LogLineFormat.logfmtKey("queue_id") == "queue_id")
        #expect(LogLineFormat.logfmtKey("a key=\"x\"") == "a_key__x_")
        #expect(LogLineFormat.logfmtKey("") == "_")
    }

    @Test func logfmtFlattensListsAndDictionaries() {
        let line = LogLineFormat.logfmt.line(time: time, level: .info, message: "m",
                                             metadata: ["list": ["a", "b c"], "map": ["y": "2", "x": "1"]])
        #expect(line.hasSuffix(#"list="a,b c" map="x=1,y=2""#))
    }

    @Test func jsonIsOneObjectPerLineThatParses() throws {
        let line = LogLineFormat.json.line(time: time, level: .notice, message: "say \"hi\"\n",
                                           metadata: ["queue_id": "N5Q2ABC", "list": ["a", "b"], "map": ["k": "v"],
                                                      "odd": "\u{1}\u{2028}\\"])
        #expect(!line.contains("\n"))
        #expect(line.hasPrefix(#"{"time":"2026-12-07T14:38:20.125Z","level":"notice","msg":"say \"hi\"\n","#))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["msg"] as? String == "say \"hi\"\n")
        #expect(object["queue_id"] as? String == "N5Q2ABC")
        #expect(object["list"] as? [String] == ["a", "b"])
        #expect(object["map"] as? [String: String] == ["k": "v"])
        #expect(object["odd"] as? String == "\u{1}\u{2028}\\")
    }

    @Test func metadataCannotOverrideTheFixedFields() {
        let line = LogLineFormat.logfmt.line(time: time, level: .info, message: "m", metadata: ["level": "critical", "msg": "x"])
        #expect(line == "time=2026-12-07T14:38:20.125Z level=info msg=m")
    }

    @Test func timestampsAreUTCWithMilliseconds() {
        #expect(LogLineFormat.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(LogLineFormat.timestamp(Date(timeIntervalSince1970: 951_782_400.5)) == "2000-02-29T00:00:00.500Z")
    }

    @Test func theHandlerWritesWholeLinesWithTheLoggersMetadata() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        let output = LogLineOutput(descriptor: fds[1])
        var logger = Logger(label: "test") { _ in LogLineHandler(format: .json, level: .info, output: output) }
        logger[metadataKey: "queue_id"] = "N5Q2ABC"
        logger.debug("not written")
        logger.info("accepted", metadata: ["from": "a b"])
        logger.warning("deferred", metadata: ["queue_id": "7"])
        close(fds[1])
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            guard count > 0 else { break }
            bytes += buffer[..<count]
        }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 2)
        let objects = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: String]) }
        #expect(objects[0]["msg"] == "accepted" && objects[0]["from"] == "a b" && objects[0]["queue_id"] == "N5Q2ABC")
        #expect(objects[1]["level"] == "warning" && objects[1]["queue_id"] == "7")
    }
}
