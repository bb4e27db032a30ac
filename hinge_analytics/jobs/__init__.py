"""Jobs: the only code that opens a lake.

Each job reads what it needs from a `Lake`, runs the pure steps over plain tables (`pipeline`,
`classify`, `analytics`, `report`) and writes through `Lake`, which alone owns the write protocol:

- `ingest`: manifest -> chunks of analysed recordings -> one commit per chunk;
- `train` / `predict`: labelled reps -> model folder; a lake's reps -> labels, batch by batch;
- `query`: the analytics views over the lake, one-off queries, exports, `hinge query`;
- `report`: the views read once -> HTML pages and CSVs;
- `check`: what a lake holds against what its commit markers promise.

Imports point one way: steps <- jobs <- flows (`hinge_analytics.pipelines`) and the CLI.
"""
