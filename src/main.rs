fn main() {
    std::process::exit(colaw::cli::main());
}
