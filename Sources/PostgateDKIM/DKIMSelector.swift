/// Selector names (RFC 6376 section 3.1): dot-separated labels of letters, digits and
/// hyphens, used in DNS names and as key file names.
public enum DKIMSelector {
    /// The selector, lower-cased, or nil if it is not a valid selector.
    public static func validated(_ text: String) -> String? {
        let lower = text.lowercased()
        guard !lower.isEmpty, lower.utf8.count <= 63 * 2 else { return nil }
        let labels = lower.split(separator: ".", omittingEmptySubsequences: false)
        let valid = labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        return valid ? lower : nil
    }
}
