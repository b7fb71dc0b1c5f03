module homa-dp/homa

go 1.19
