fn main() {
    println!("rollcall");
}
