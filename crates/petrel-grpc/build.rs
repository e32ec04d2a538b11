//! Generates the gRPC v2 messages and the MessagingService server and client from the vendored
//! protos (apache/rocketmq-apis v2.0.4) with the pure-Rust `protox` compiler: no `protoc` needed.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/apache/rocketmq/v2/service.proto",
        "proto/apache/rocketmq/v2/admin.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-changed=proto/apache/rocketmq/v2/definition.proto");
    let fds = protox::compile(files, ["proto"])?;
    tonic_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
