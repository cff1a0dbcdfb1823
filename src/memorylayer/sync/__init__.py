"""Encrypted sync of a namespace: the file format (:mod:`.blob`), the merge of a pulled snapshot
(:mod:`.merge`), and push / pull / status over the registry server (:mod:`.client`). docs/sync.md."""
