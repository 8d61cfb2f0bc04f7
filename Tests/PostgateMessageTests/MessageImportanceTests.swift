import Testing
@testable import PostgateMessage

/// The importance a sender marked, from the fields mail clients write.
@Suite struct MessageImportanceTests {
    static func importance(_ fields: [(String, String)]) -> MessageImportance {
        MessageImportance(header: MessageHeader(fields: fields.map { MessageHeader.Field(name: $0.0, value: $0.1) }))
    }

    @Test(arguments: [
        ([("Importance", "High")], MessageImportance.high),
        ([("Importance", " low (not urgent)")], .low),
        ([("Priority", "urgent")], .high),
        ([("Priority", "non-urgent")], .low),
        ([("X-Priority", "1 (Highest)")], .high),
        ([("X-Priority", "2")], .high),
        ([("X-Priority", "3 (Normal)")], .normal),
        ([("X-Priority", "5")], .low),
        ([("X-MSMail-Priority", "Low")], .low),
        ([("Importance", "normal"), ("X-Priority", "1")], .normal),
        ([("Importance", "bogus"), ("X-Priority", "1")], .high),
        ([("Subject", "Hello")], .normal),
    ])
    func fieldsInOrderOfPrecedence(_ fields: [(String, String)], _ expected: MessageImportance) {
        #expect(Self.importance(fields) == expected)
    }

    @Test func keywordsForAgents() {
        #expect(MessageImportance.high.keyword == "$Important")
        #expect(MessageImportance.low.keyword == "$LowImportance")
        #expect(MessageImportance.normal.keyword == nil)
    }
}
