//! `tradebot`: the command-line front end. Parses arguments and calls the library crates.

fn main() {
    println!("tradebot");
}
