module github.com/framechat/chat/history/bolt

go 1.26.0

require (
	github.com/framechat/chat v0.0.0-20261207003327-85c5e7ccc02b
	go.etcd.io/bbolt v1.5.0
	go.uber.org/goleak v1.3.0
)

require (
	github.com/mtibben/confusables v0.0.0-20210201002637-9d1b0723b659 // indirect
	golang.org/x/sys v0.45.0 // indirect
	golang.org/x/text v0.44.0 // indirect
)
