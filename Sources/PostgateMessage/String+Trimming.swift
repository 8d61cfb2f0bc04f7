extension String {
    /// The string without leading and trailing spaces, tabs and CRs (the whitespace of
    /// mail protocols; Foundation's trimming would also take Unicode spaces).
    public func trimmingSpaces() -> String {
        var text = Substring(self)
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
        return String(text)
    }
}
