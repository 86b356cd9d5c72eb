//! Time the forward pass: `cargo run --release -p arcs-models --example smollm2_bench [GGUF] [N...]`.

use std::time::Instant;

use arcs_models::smollm2::SmolLm2;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf").to_string()
    });
    let lens: Vec<usize> = {
        let v: Vec<usize> = args.filter_map(|a| a.parse().ok()).collect();
        if v.is_empty() {
            vec![8, 32, 128]
        } else {
            v
        }
    };
    let t = Instant::now();
    let model = SmolLm2::from_gguf(std::fs::read(&path)?)?;
    println!("load {:.2?}", t.elapsed());
    let text = "The cat that was sitting on the mat, which was next to the dog, jumped. ".repeat(200);
    let ids = model.tokenize(&text)?.ids;
    for n in lens {
        let ids = &ids[..n.min(ids.len())];
        // Best of 3: the machine may be shared, and the minimum is the least disturbed run.
        let mut best = std::time::Duration::MAX;
        let mut out = None;
        for _ in 0..3 {
            let t = Instant::now();
            out = Some(model.forward(ids)?);
            best = best.min(t.elapsed());
        }
        let top = out.map(|o| o.top5_next[0].clone()).ok_or("no run")?;
        println!("{} tokens: forward {best:.2?} (best of 3), next {:?} p={:.3}", ids.len(), top.token, top.prob);
    }
    Ok(())
}
