// AXI4-Lite slave front end: turns AXI4-Lite transactions into one-cycle
// register bus accesses. A write is taken when AWVALID and WVALID are both
// high and no response is pending (AWREADY = WREADY = 1 in that cycle); a
// read when ARVALID is high and no read data is pending. The register bus
// reports a decode error, answered as SLVERR.
`default_nettype none

module sdhci_axil (
    input  wire        clk,
    input  wire        rst_n,
    input  wire [11:0] s_axil_awaddr,
    input  wire [2:0]  s_axil_awprot,
    input  wire        s_axil_awvalid,
    output wire        s_axil_awready,
    input  wire [31:0] s_axil_wdata,
    input  wire [3:0]  s_axil_wstrb,
    input  wire        s_axil_wvalid,
    output wire        s_axil_wready,
    output reg  [1:0]  s_axil_bresp,
    output reg         s_axil_bvalid,
    input  wire        s_axil_bready,
    input  wire [11:0] s_axil_araddr,
    input  wire [2:0]  s_axil_arprot,
    input  wire        s_axil_arvalid,
    output wire        s_axil_arready,
    output reg  [31:0] s_axil_rdata,
    output reg  [1:0]  s_axil_rresp,
    output reg         s_axil_rvalid,
    input  wire        s_axil_rready,
    // register bus
    output wire        wr_en,
    output wire [11:0] wr_addr,
    output wire [31:0] wr_data,
    output wire [3:0]  wr_strb,
    input  wire        wr_err,
    output wire        rd_en,
    output wire [11:0] rd_addr,
    input  wire [31:0] rd_data,
    input  wire        rd_err
);
    localparam [1:0] OKAY = 2'b00, SLVERR = 2'b10;

    assign wr_en = s_axil_awvalid && s_axil_wvalid && !s_axil_bvalid;
    assign s_axil_awready = wr_en;
    assign s_axil_wready = wr_en;
    assign wr_addr = s_axil_awaddr;
    assign wr_data = s_axil_wdata;
    assign wr_strb = s_axil_wstrb;

    assign rd_en = s_axil_arvalid && !s_axil_rvalid;
    assign s_axil_arready = rd_en;
    assign rd_addr = s_axil_araddr;

    // Enable (exact: 0 only when the body would change nothing; see README, Simulation speed): nothing pending and no request.
    wire busy = !rst_n || wr_en || rd_en || s_axil_bvalid || s_axil_rvalid;
    always @(posedge clk) if ((busy)) begin
        if (!rst_n) begin
            s_axil_bvalid <= 1'b0;
            s_axil_bresp <= OKAY;
            s_axil_rvalid <= 1'b0;
            s_axil_rresp <= OKAY;
            s_axil_rdata <= 32'd0;
        end else begin
            if (wr_en) begin
                s_axil_bvalid <= 1'b1;
                s_axil_bresp <= wr_err ? SLVERR : OKAY;
            end else if (s_axil_bready) begin
                s_axil_bvalid <= 1'b0;
            end
            if (rd_en) begin
                s_axil_rvalid <= 1'b1;
                s_axil_rresp <= rd_err ? SLVERR : OKAY;
                s_axil_rdata <= rd_err ? 32'd0 : rd_data;
            end else if (s_axil_rready) begin
                s_axil_rvalid <= 1'b0;
            end
        end
    end

    // Protection attributes carry no meaning for this slave.
    wire unused_prot = ^{s_axil_awprot, s_axil_arprot};
endmodule

`default_nettype wire
