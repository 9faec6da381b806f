import "./style.css";

export const metadata = { title: "Sign in with WhatsApp" };

export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
