import Foundation
import Testing
@testable import PostgateCSV

@Suite struct CSVParserTests {
    private func records(_ text: String) throws -> [CSVRecord] {
        try CSVParser.records(Array(text.utf8))
    }

    @Test func readsLFAndCRLFAndLoneCR() throws {
        let expected = [CSVRecord(line: 1, fields: ["a", "b"]), CSVRecord(line: 2, fields: ["c", "d"])]
        #expect(try records("a,b\nc,d\n") == expected)
        #expect(try records("a,b\r\nc,d\r\n") == expected)
        #expect(try records("a,b\rc,d") == expected)
        #expect(try records("a,b\r\nc,d") == expected)
    }

    @Test func skipsAUTF8ByteOrderMarkOnlyAtTheStart() throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("email\r\nbob@example.com\r\n".utf8)
        #expect(try CSVParser.records(bytes).map(\.fields) == [["email"], ["bob@example.com"]])
        // A partial BOM is data, kept as it was: bytes that are not UTF-8 text, refused.
        let partial: [UInt8] = [0xEF, 0xBB] + Array("x\n".utf8)
        #expect(throws: CSVError.notText(line: 1)) { try CSVParser.records(partial) }
    }

    @Test func quotedFieldsHoldCommasQuotesAndLineBreaks() throws {
        let text = "name,email\r\n\"Smith, Bob\",\"bob@example.com\"\r\n\"say \"\"hi\"\"\",\"two\r\nlines\"\r\nlast,x\r\n"
        let parsed = try records(text)
        #expect(parsed.map(\.fields) == [
            ["name", "email"], ["Smith, Bob", "bob@example.com"], ["say \"hi\"", "two\r\nlines"], ["last", "x"],
        ])
        // Line numbers count the break inside the quoted field.
        #expect(parsed.map(\.line) == [1, 2, 3, 5])
    }

    @Test func emptyFieldsAndBlankLines() throws {
        let parsed = try records("a,,c\n\n,\n\"\"\n")
        #expect(parsed.map(\.fields) == [["a", "", "c"], [""], ["", ""], [""]])
        #expect(parsed[1].isBlank && parsed[2].isBlank && parsed[3].isBlank)
        #expect(parsed.map(\.line) == [1, 2, 3, 4])
    }

    @Test func anyChunkingGivesTheSameRecords() throws {
        let text = Array("\u{FEFF}h1,h2\r\n\"a,\"\"b\"\"\r\nc\",d\r\ne,f".utf8)
        let whole = try CSVParser.records(text)
        var parser = CSVParser()
        var pieces: [CSVRecord] = []
        for byte in text { try parser.parse([byte]) { pieces.append($0) } }
        try parser.finish { pieces.append($0) }
        #expect(pieces == whole)
        #expect(whole.map(\.fields) == [["h1", "h2"], ["a,\"b\"\r\nc", "d"], ["e", "f"]])
    }

    @Test func malformedQuotingNamesTheLine() throws {
        #expect(throws: CSVError.textAfterClosingQuote(line: 2)) { try records("ok\n\"a\"b,c\n") }
        #expect(throws: CSVError.unterminatedQuote(line: 2)) { try records("ok\n\"never closed\nmore\n") }
    }

    @Test func aRecordLongerThanTheLimitIsAnError() throws {
        var parser = CSVParser(maxRecordBytes: 100)
        #expect(throws: CSVError.recordTooLong(line: 2, limit: 100)) {
            try parser.parse(Array(("short\n" + String(repeating: "x", count: 200)).utf8)) { _ in }
        }
    }

    @Test func readsAHundredThousandRowsFromAFile() throws {
        let path = NSTemporaryDirectory() + "/postgate-csv-\(UUID().uuidString).csv"
        defer { try? FileManager.default.removeItem(atPath: path) }
        var text = "\u{FEFF}email,name\r\n"
        for i in 0..<100_000 { text += "user\(i)@example.com,\"User, \(i)\"\r\n" }
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        var count = 0
        var last: CSVRecord?
        var progress: [(Int, Int)] = []
        let started = Date()
        try CSVFileReader(path: path).read(progress: { progress.append(($0, $1)) }) { record in
            count += 1
            last = record
        }
        #expect(count == 100_001)
        #expect(last == CSVRecord(line: 100_001, fields: ["user99999@example.com", "User, 99999"]))
        #expect(progress.last.map { $0.0 == $0.1 } == true)
        #expect(progress.count > 10)
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func aMissingFileIsAnError() {
        #expect(throws: CSVFileError.self) { try CSVFileReader(path: "/nonexistent/file.csv").read { _ in } }
    }
}

/// The writer, and the CSV read by `ChannelCSV` (channel export/import) through the same parser.
@Suite struct CSVWriterTests {
    @Test func readsQuotesCRLFAndABOM() throws {
        let text = "\u{FEFF}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",\r\nlast,row"
        let records = try CSVParser.records(Array(text.utf8))
        #expect(records.map(\.fields) == [["a", "b"], ["x, y", "say \"hi\""], ["multi\nline", ""], ["last", "row"]])
        #expect(records.map(\.line) == [1, 2, 3, 5])
    }

    @Test func writesWhatItReads() throws {
        let records = [["plain", "with,comma", "with \"quote\"", "line\r\nbreak", "", "é, ü"], ["second"]]
        let text = CSVWriter.write(records)
        #expect(text.hasSuffix("\r\nsecond\r\n"))
        #expect(try CSVParser.records(Array(text.utf8)).map(\.fields) == records)
    }

    @Test func refusesAnOpenQuote() {
        #expect(throws: CSVError.unterminatedQuote(line: 1)) { try CSVParser.records(Array("a,\"open\n".utf8)) }
    }
}
