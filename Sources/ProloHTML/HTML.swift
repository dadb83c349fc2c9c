/// HTML built by appending, in document order: text and attribute values are escaped, markup written with
/// ``raw(_:)`` is not. A page is one value; nothing is parsed or re-read.
///
/// ```swift
/// var html = HTML()
/// html.element("p", [("class", "note")]) { $0.text("2 < 3") }   // <p class="note">2 &lt; 3</p>
/// ```
public struct HTML: Sendable {
    /// One attribute: a name and its value; a `nil` value leaves the attribute out, `""` writes the bare name.
    public typealias Attribute = (name: String, value: String?)

    /// The markup so far.
    public private(set) var markup = ""

    /// An empty document.
    public init() {
        markup.reserveCapacity(16 << 10)
    }

    /// Appends `text`, escaped.
    public mutating func text(_ text: String) {
        Self.appendEscaped(text, to: &markup)
    }

    /// Appends markup as it is: only for constants of the page, never for data.
    public mutating func raw(_ markup: String) {
        self.markup += markup
    }

    /// Appends `<name attributes>`, what `content` appends, and `</name>`.
    public mutating func element(_ name: String, _ attributes: [Attribute] = [], _ content: (inout HTML) -> Void) {
        open(name, attributes)
        content(&self)
        markup += "</\(name)>"
    }

    /// Appends `<name attributes>text</name>`, the text escaped.
    public mutating func element(_ name: String, _ attributes: [Attribute] = [], text: String) {
        open(name, attributes)
        Self.appendEscaped(text, to: &markup)
        markup += "</\(name)>"
    }

    /// Appends an element that has no content and no end tag (`input`, `meta`, `br`).
    public mutating func void(_ name: String, _ attributes: [Attribute] = []) {
        open(name, attributes)
    }

    private mutating func open(_ name: String, _ attributes: [Attribute]) {
        markup += "<"
        markup += name
        for attribute in attributes {
            guard let value = attribute.value else { continue }
            markup += " "
            markup += attribute.name
            if !value.isEmpty {
                markup += "=\""
                Self.appendEscaped(value, to: &markup)
                markup += "\""
            }
        }
        markup += ">"
    }

    /// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references: safe in element content and in a
    /// quoted attribute value.
    public static func escape(_ text: String) -> String {
        var result = ""
        appendEscaped(text, to: &result)
        return result
    }

    private static func appendEscaped(_ text: String, to result: inout String) {
        // Most text has nothing to escape: append it whole.
        guard text.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            result += text
            return
        }
        for character in text.unicodeScalars {
            switch character {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(character)
            }
        }
    }
}
