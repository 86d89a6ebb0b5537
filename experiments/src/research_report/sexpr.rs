//! Genomes drawn readably: a one-line s-expression laid out as an indented tree, each list on
//! one line when it fits in the width, else its head on the first line and its children below,
//! indented two spaces.

/// A parsed s-expression: an atom or a parenthesised list.
enum Node<'a> {
    Atom(&'a str),
    List(Vec<Node<'a>>),
}

impl Node<'_> {
    /// The node on one line.
    fn flat(&self) -> String {
        match self {
            Node::Atom(a) => (*a).to_string(),
            Node::List(items) => format!("({})", items.iter().map(Node::flat).collect::<Vec<_>>().join(" ")),
        }
    }

    /// Appends the node at `indent` spaces to `out`, breaking lists wider than `width`.
    fn layout(&self, indent: usize, width: usize, out: &mut String) {
        let flat = self.flat();
        let Node::List(items) = self else {
            out.push_str(&flat);
            return;
        };
        if indent + flat.chars().count() <= width || items.len() < 2 {
            out.push_str(&flat);
            return;
        }
        // The head and any atoms right after it stay on the first line: `(> close`.
        let head = items.iter().take_while(|n| matches!(n, Node::Atom(_))).count().max(1);
        out.push('(');
        out.push_str(&items[..head].iter().map(Node::flat).collect::<Vec<_>>().join(" "));
        for item in &items[head..] {
            out.push('\n');
            out.push_str(&" ".repeat(indent + 2));
            item.layout(indent + 2, width, out);
        }
        out.push(')');
    }
}

/// Parses `text` into nodes; `None` when the parentheses do not balance.
fn parse(text: &str) -> Option<Vec<Node<'_>>> {
    let mut stack: Vec<Vec<Node<'_>>> = vec![Vec::new()];
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        if matches!(c, '(' | ')') || c.is_whitespace() {
            if let Some(s) = start.take() {
                stack.last_mut()?.push(Node::Atom(&text[s..i]));
            }
            if c == '(' {
                stack.push(Vec::new());
            } else if c == ')' {
                let list = stack.pop()?;
                stack.last_mut()?.push(Node::List(list));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    (stack.len() == 1).then(|| stack.pop()).flatten()
}

/// `text` as an indented tree no wider than `width` where it can be; unchanged when it does not
/// parse.
pub fn indent(text: &str, width: usize) -> String {
    let Some(nodes) = parse(text) else { return text.to_string() };
    let mut out = String::new();
    for (k, n) in nodes.iter().enumerate() {
        if k > 0 {
            out.push('\n');
        }
        n.layout(0, width, &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_break_and_short_ones_stay_on_a_line() {
        let g = "(strategy (entry (and (> close (sma close 20)) (< (rsi close 14) 30))) (exit (> (rsi close 14) 70)) (size 0.5))";
        assert_eq!(
            indent(g, 40),
            "(strategy\n  (entry\n    (and\n      (> close (sma close 20))\n      (< (rsi close 14) 30)))\n  (exit (> (rsi close 14) 70))\n  (size 0.5))"
        );
        assert_eq!(indent("(size 0.5)", 40), "(size 0.5)");
        assert_eq!(indent("(unbalanced", 10), "(unbalanced");
    }
}
