import Testing
@testable import PostgateGateway

@Suite struct UIDWindowTests {
    @Test func safeUIDPassesOnlyWhatIsInWithEverythingBefore() {
        var window = UIDWindow(order: [3, 5, 9, 12], safe: 2)
        window.complete(5)
        #expect(window.safe == 2, "3 is not in yet")
        window.complete(9)
        #expect(window.safe == 2)
        window.complete(3)
        #expect(window.safe == 9, "3, 5 and 9 are in; the gaps between were never asked for")
        window.complete(12)
        #expect(window.safe == 12)
    }

    @Test func nothingCompletedKeepsTheStart() {
        let window = UIDWindow(order: [], safe: 40)
        #expect(window.safe == 40)
    }
}
