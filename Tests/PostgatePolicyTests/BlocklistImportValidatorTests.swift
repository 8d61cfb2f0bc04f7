import Testing
@testable import PostgatePolicy

@Suite struct BlocklistImportValidatorTests {
    private func report(_ text: String, column: String? = nil, existing: Set<String> = []) throws -> BlocklistImportReport {
        var validator = BlocklistImportValidator(column: column, existing: existing)
        for record in try CSVParser.records(Array(text.utf8)) { try validator.take(record) }
        return try validator.finish()
    }

    @Test func oneColumnNeedsNoMappingWithOrWithoutHeader() throws {
        let withHeader = try report("Email\nbob@example.com\nspam.example\n")
        #expect(withHeader.column == "Email")
        #expect(withHeader.rows == 2)
        #expect(withHeader.valid.map(\.line) == [2, 3])
        #expect(withHeader.entries.map(\.value) == ["bob@example.com", "spam.example"])

        let bare = try report("bob@example.com\nspam.example\n")
        #expect(bare.column == nil)
        #expect(bare.valid.map(\.line) == [1, 2])
    }

    @Test func reportsDuplicatesInTheFileAndAgainstExistingEntries() throws {
        let text = "email\nbob@example.com\nBOB@Example.com\nold@example.com\nbücher.example\nxn--bcher-kva.example\n"
        let result = try report(text, existing: ["old@example.com"])
        #expect(result.rows == 5)
        #expect(result.valid.map(\.line) == [2, 5])
        #expect(result.duplicatesInFile.map(\.line) == [3, 6])
        #expect(result.duplicatesInFile[0].reason.contains("duplicates line 2"))
        #expect(result.duplicatesInFile[1].reason.contains("duplicates line 5"))
        #expect(result.alreadyListed.map(\.line) == [4])
        #expect(result.errors.isEmpty)
    }

    @Test func reportsInvalidRowsWithLineNumbers() throws {
        let text = "email\r\nbob@\r\n\r\nok@example.com\r\n\"multi\r\nline\"\r\nnot an address\r\n"
        let result = try report(text)
        #expect(result.valid.map(\.line) == [4])
        #expect(result.errors.map(\.line) == [2, 5, 7])
        #expect(result.errors.map(\.text) == ["bob@", "multi\r\nline", "not an address"])
        #expect(result.summary.contains("line 7: 'not an address' is not an address or a domain"))
    }

    @Test func severalColumnsNeedTheColumnNamed() throws {
        let text = "name,Email Address,note\n\"Smith, Bob\",bob@example.com,x\nAnn,ann@example.com\nShort\n"
        #expect(throws: BlocklistImportError.columnRequired(columns: ["name", "Email Address", "note"])) { try report(text) }
        #expect(throws: BlocklistImportError.unknownColumn("mail", columns: ["name", "Email Address", "note"])) {
            try report(text, column: "mail")
        }
        let result = try report(text, column: "email address")
        #expect(result.column == "Email Address")
        #expect(result.entries.map(\.value) == ["bob@example.com", "ann@example.com"])
        #expect(result.errors.map(\.line) == [4])
    }

    @Test func aNamedColumnMustMatchAOneColumnHeader() throws {
        #expect(throws: BlocklistImportError.unknownColumn("email", columns: ["address"])) {
            try report("address\nbob@example.com\n", column: "email")
        }
        #expect(try report("bob@example.com\n", column: "email").entries.count == 1)
    }

    @Test func anEmptyFileIsAnError() {
        #expect(throws: BlocklistImportError.empty) { try report("") }
        #expect(throws: BlocklistImportError.empty) { try report("\n\n") }
    }

    @Test func aHundredThousandRowsWithDuplicates() throws {
        var text = "email\n"
        for i in 0..<100_000 { text += "user\(i % 90_000)@example.com\n" }
        let result = try report(text, existing: ["user0@example.com"])
        #expect(result.rows == 100_000)
        #expect(result.valid.count == 89_999)
        #expect(result.alreadyListed.count == 1)
        #expect(result.duplicatesInFile.count == 10_000)
        #expect(result.summary.split(separator: "\n").count == 1 + BlocklistImportReport.issuesShown + 1)
        #expect(result.summary.hasSuffix("… and 9901 more (--json lists them all)"))
    }
}
